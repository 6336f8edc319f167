"""DaskExecutor: per-task overhead vs raw ``client.submit``, and the speed-up of a fan-out.

Run: ``python benchmarks/dask_executor.py [--quick]``. Starts one loopback LocalCluster
(2 worker processes, 1 thread each) and measures, on that same cluster:

- per-task cost of N no-op tasks, submitted all at once (a fan-out) and one after the
  other (a chain), through molexp's ``DaskExecutor`` vs raw ``client.submit`` of the same
  no-op function awaited the same way; ratio = molexp / raw (target: within 1.5x);
- wall time of a CPU-bound 8-task fan-out in process (``LocalExecutor``) vs on the
  cluster, and the speed-up (ideal: the number of workers).

Best of N repeats, after a warm-up that imports molexp on every worker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import distributed

from molexp import Node, Task, TaskContext, Workflow, WorkflowRuntime
from molexp.executors import DaskExecutor

WORKERS = 2
LocalCluster: Any = distributed.LocalCluster  # untyped constructors
Client: Any = distributed.Client


def noop(value: Any) -> Any:
    return value


class Noop(Task[TaskContext[None, None, Any], Any]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> Any:
        return ctx.inputs


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


class Burn(Task[TaskContext[None, None, int], float]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> float:
        return burn(ctx.inputs)


def independent(n: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("fan-out", input=int)
    for i in range(n):
        wf.add(Noop(), name=f"t{i}")
    return wf


def chain(n: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("chain", input=int)
    node: Node[Any] = wf.add(Noop(), name="t0")
    for i in range(1, n):
        node = wf.add(Noop(), after=node, name=f"t{i}")
    return wf


def cpu_fan_out(width: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("cpu", input=int)
    for i in range(width):
        wf.add(Burn(), name=f"burn{i}")
    return wf


async def best_of(repeats: int, make: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        await make()
        best = min(best, time.perf_counter() - started)
    return best


async def main(quick: bool) -> None:
    n = 60 if quick else 300
    repeats = 2 if quick else 5
    work = 20 if quick else 150
    async with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
            asynchronous=True,
        ) as cluster,
        Client(cluster, asynchronous=True) as client,
    ):
        executor = DaskExecutor(client, on_state_mutation="ignore")
        runtime = WorkflowRuntime()

        async def raw_fan_out() -> None:
            futures = [client.submit(noop, i, pure=False) for i in range(n)]
            for future in futures:
                await future

        async def raw_chain() -> None:
            value = 0
            for _ in range(n):
                value = await client.submit(noop, value, pure=False)

        async def ours(wf: Workflow[Any, Any, Any]) -> None:
            result = await runtime.execute(wf, inputs=0, executor=executor)
            result.raise_for_status()

        fan, line = independent(n), chain(n)
        async with executor:  # one connection for every measured execution
            await ours(independent(4 * WORKERS))  # warm up: molexp imported on every worker
            await raw_fan_out()
            print(f"{'shape':<26} {'tasks':>6} {'molexp ms':>10} {'raw ms':>8} {'ratio':>6}")
            for name, wf, raw in (
                ("fan-out (all at once)", fan, raw_fan_out),
                ("chain", line, raw_chain),
            ):
                theirs = await best_of(repeats, raw) / n * 1e3
                mine = await best_of(repeats, lambda wf=wf: ours(wf)) / n * 1e3  # type: ignore[misc]
                print(f"{name:<26} {n:>6} {mine:>10.3f} {theirs:>8.3f} {mine / theirs:>6.2f}")

            width = 8
            cpu = cpu_fan_out(width)
            started = time.perf_counter()
            burn(work)
            one = time.perf_counter() - started

            async def local() -> None:
                (await runtime.execute(cpu, inputs=work)).raise_for_status()

            async def remote() -> None:
                (await runtime.execute(cpu, inputs=work, executor=executor)).raise_for_status()

            async def raw_cpu() -> None:
                await client.gather([client.submit(burn, work, pure=False) for _ in range(width)])

            here = await best_of(max(1, repeats // 2), local)
            there = await best_of(max(1, repeats // 2), remote)
            baseline = await best_of(max(1, repeats // 2), raw_cpu)
        print(
            f"CPU-bound fan-out of {width} tasks ({one:.2f} s each): in process {here:.2f} s, "
            f"DaskExecutor on {WORKERS} workers {there:.2f} s: speed-up {here / there:.2f}x "
            f"(raw client.submit {baseline:.2f} s: {here / baseline:.2f}x; ideal {WORKERS}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tasks, fewer repeats")
    asyncio.run(main(parser.parse_args().quick))
