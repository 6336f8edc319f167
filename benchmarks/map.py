"""wf.map: per-element overhead, CPU speed-up on worker processes, and a map on Dask.

Run: ``python benchmarks/map.py [--quick]``. Measures, in one process:

1. per-element cost of ``wf.map`` over N no-op elements (N = 1k, 10k, 100k) vs a bare
   ``asyncio.gather`` of the same no-op coroutine; ratio = molexp / bare (target <= 2x, and
   flat in N);
2. the wall time of a CPU-bound 8-element map in process vs on ``ProcessExecutor(2)``
   (a warm pool: ``async with``), and the speed-up (target >= 1.7x on 2 cores); the cold
   figure (pool started inside the execution) is printed too;
3. an N-element map (10k) on a 2-worker loopback ``LocalCluster`` through ``DaskExecutor``
   vs raw ``client.map`` of the same no-op function, per element (target <= 1.5x).

Best of a few repeats; the figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.executors import ProcessExecutor

WORKERS = 2


class Count(Task[TaskContext[None, None, int], list[int]]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> list[int]:
        return list(range(ctx.inputs))


class Noop(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        return await noop(ctx.inputs)


async def noop(value: int) -> int:
    return value


def plain_noop(value: int) -> int:
    return value


def burn(work: int) -> float:
    """A CPU-bound kernel: pair energies of a small Lennard-Jones lattice, ``work`` times."""
    side = 6
    points = [(x, y, z) for x in range(side) for y in range(side) for z in range(side)]
    total = 0.0
    for _ in range(work):
        for i, (xi, yi, zi) in enumerate(points):
            for xj, yj, zj in points[i + 1 : i + 40]:
                r2 = (xi - xj) ** 2 + (yi - yj) ** 2 + (zi - zj) ** 2
                inv6 = 1.0 / (r2 * r2 * r2)
                total += 4.0 * (inv6 * inv6 - inv6)
    return total


class Works(Task[TaskContext[None, None, int], list[int]]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> list[int]:
        return [ctx.inputs] * 8


class Burn(Task[TaskContext[None, None, int], float]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> float:
        return burn(ctx.inputs)


def mapped(task: Task[Any, Any], first: Task[Any, Any]) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("map", input=int)
    wf.map(task, over=wf.add(first))
    return wf


async def best_of(repeats: int, make: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - started)
    return best


async def overhead(sizes: list[int], repeats: int) -> None:
    runtime = WorkflowRuntime()
    wf = mapped(Noop(), Count())
    print(f"{'elements':>9} {'wf.map µs':>10} {'gather µs':>10} {'ratio':>6}")
    for n in sizes:

        async def ours(n: int = n) -> None:
            (await runtime.execute(wf, inputs=n)).raise_for_status()

        async def bare(n: int = n) -> None:
            await asyncio.gather(*(noop(i) for i in list(range(n))))

        theirs = await best_of(repeats, bare) / n * 1e6
        mine = await best_of(repeats, ours) / n * 1e6
        print(f"{n:>9} {mine:>10.2f} {theirs:>10.2f} {mine / theirs:>6.2f}")


async def cpu(work: int, repeats: int) -> None:
    runtime = WorkflowRuntime()
    wf = mapped(Burn(), Works())
    started = time.perf_counter()
    burn(work)
    one = time.perf_counter() - started

    async def local() -> None:
        (await runtime.execute(wf, inputs=work)).raise_for_status()

    cold_pool = ProcessExecutor(max_workers=WORKERS)

    async def cold() -> None:
        (await runtime.execute(wf, inputs=work, executor=cold_pool)).raise_for_status()

    cold_time = await best_of(1, cold)
    here = there = float("inf")
    async with ProcessExecutor(max_workers=WORKERS) as pool:
        await runtime.execute(mapped(Noop(), Count()), inputs=2 * WORKERS, executor=pool)

        async def warm() -> None:
            (await runtime.execute(wf, inputs=work, executor=pool)).raise_for_status()

        for _ in range(repeats):  # interleaved: a change of machine load hits both alike
            here = min(here, await best_of(1, local))
            there = min(there, await best_of(1, warm))
    print(
        f"CPU-bound map of 8 elements ({one:.2f} s each): in process {here:.2f} s, "
        f"ProcessExecutor({WORKERS}) {there:.2f} s warm: speed-up {here / there:.2f}x "
        f"(cold pool {cold_time:.2f} s: {here / cold_time:.2f}x; ideal {WORKERS}x)"
    )


async def dask(n: int, repeats: int) -> None:
    import distributed

    from molexp.executors import DaskExecutor

    local_cluster: Any = distributed.LocalCluster
    client_class: Any = distributed.Client
    async with (
        local_cluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
            asynchronous=True,
        ) as cluster,
        client_class(cluster, asynchronous=True) as client,
    ):
        executor = DaskExecutor(client, on_state_mutation="ignore")
        runtime = WorkflowRuntime()
        wf = mapped(Noop(), Count())

        async def raw() -> None:
            await client.gather(client.map(plain_noop, list(range(n)), pure=False))

        async def ours() -> None:
            (await runtime.execute(wf, inputs=n, executor=executor)).raise_for_status()

        async with executor:
            await runtime.execute(wf, inputs=4 * WORKERS, executor=executor)  # warm up
            await raw()
            theirs = await best_of(repeats, raw) / n * 1e3
            mine = await best_of(repeats, ours) / n * 1e3
    print(
        f"map of {n} no-op elements on a {WORKERS}-worker LocalCluster: DaskExecutor "
        f"{mine:.3f} ms/element, raw client.map {theirs:.3f} ms/element: ratio {mine / theirs:.2f}"
    )


async def main(quick: bool) -> None:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
    await overhead(sizes, 2 if quick else 5)
    await cpu(15 if quick else 120, 1 if quick else 3)
    await dask(300 if quick else 10_000, 1 if quick else 2)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller maps, fewer repeats")
    asyncio.run(main(parser.parse_args().quick))
