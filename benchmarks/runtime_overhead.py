"""Per-task cost of the in-memory runtime vs bare asyncio doing the same shape.

Run: ``python benchmarks/runtime_overhead.py [--quick]``. For chain, fan-out and a layered
diamond at 1k, 10k and 100k tasks (1k and 10k with ``--quick``), prints µs/task for molexp
and for a hand-written asyncio baseline (one asyncio.Task per node awaiting its upstream
tasks, then a no-op coroutine), measured interleaved in this process (molexp, asyncio,
molexp, ...; best of N each), their ratio, and how flat molexp's cost is (µs/task at the
largest size ÷ at 1k). Then: the share of molexp's time spent in the cyclic garbage
collector, the time to declare a workflow, and memory per task (tracemalloc peak) for the
graph plus its execution against the asyncio baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from molexp import Node, Task, TaskContext, Workflow, WorkflowRuntime


class Noop(Task[TaskContext[None, None, Any], None]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> None:
        return None


async def noop() -> None:
    return None


# -- shapes as workflows ------------------------------------------------------------------


def fan_out_in(width: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("fan-out-in")
    root = wf.add(Noop(), name="root")
    leaves = [wf.add(Noop(), after=root, name=f"t{i}") for i in range(width)]
    wf.add(Noop(), after=leaves, name="join")
    return wf


def chain(depth: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("chain")
    node: Node[None] = wf.add(Noop(), name="t0")
    for i in range(1, depth):
        node = wf.add(Noop(), after=node, name=f"t{i}")
    return wf


def fan_out(width: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("fan-out")
    root = wf.add(Noop(), name="root")
    for i in range(width):
        wf.add(Noop(), after=root, name=f"t{i}")
    return wf


DIAMOND_WIDTH = 100


def diamond(tasks: int) -> Workflow[Any, Any, Any]:
    """A root, then layers of 100 nodes; each node joins two nodes of the layer above."""
    wf: Workflow[Any, Any, Any] = Workflow("diamond")
    root = wf.add(Noop(), name="root")
    layer = [wf.add(Noop(), after=root, name=f"l0_{i}") for i in range(DIAMOND_WIDTH)]
    for depth in range(1, (tasks - 1) // DIAMOND_WIDTH):
        layer = [
            wf.add(
                Noop(),
                after=[layer[i], layer[(i + 1) % DIAMOND_WIDTH]],
                name=f"l{depth}_{i}",
            )
            for i in range(DIAMOND_WIDTH)
        ]
    return wf


# -- the same shapes in bare asyncio --------------------------------------------------------


async def _node(*upstream: asyncio.Task[None]) -> None:
    for up in upstream:
        await up
    await noop()


async def bare_fan_out_in(width: int) -> None:
    root = asyncio.create_task(_node())
    leaves = [asyncio.create_task(_node(root)) for _ in range(width)]
    await asyncio.create_task(_node(*leaves))


async def bare_chain(depth: int) -> None:
    node = asyncio.create_task(_node())
    for _ in range(1, depth):
        node = asyncio.create_task(_node(node))
    await node


async def bare_fan_out(width: int) -> None:
    root = asyncio.create_task(_node())
    await asyncio.gather(*(asyncio.create_task(_node(root)) for _ in range(width)))


async def bare_diamond(tasks: int) -> None:
    root = asyncio.create_task(_node())
    layer = [asyncio.create_task(_node(root)) for _ in range(DIAMOND_WIDTH)]
    every = [root, *layer]
    for _ in range(1, (tasks - 1) // DIAMOND_WIDTH):
        layer = [
            asyncio.create_task(_node(layer[i], layer[(i + 1) % DIAMOND_WIDTH]))
            for i in range(DIAMOND_WIDTH)
        ]
        every.extend(layer)
    await asyncio.gather(*every)


# -- measuring ----------------------------------------------------------------------------


def timed(make: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()
    started = time.perf_counter()
    asyncio.run(make())  # type: ignore[arg-type]
    return time.perf_counter() - started


async def _run_molexp(wf: Workflow[Any, Any, Any]) -> None:
    result = await WorkflowRuntime().execute(wf)
    result.raise_for_status()


def interleaved(
    wf: Workflow[Any, Any, Any], bare: Callable[[], Awaitable[Any]], repeats: int
) -> tuple[float, float]:
    """Best of ``repeats`` for molexp and for asyncio, alternating between them."""
    ours = base = float("inf")
    for _ in range(repeats):
        ours = min(ours, timed(lambda: _run_molexp(wf)))
        base = min(base, timed(bare))
    return ours, base


SHAPES: dict[str, tuple[Callable[[int], Workflow[Any, Any, Any]], Callable[[int], Any]]] = {
    "chain": (chain, bare_chain),
    "fan-out": (fan_out, bare_fan_out),
    "diamond": (diamond, bare_diamond),
}


def per_task_table(sizes: list[int], repeats: int) -> None:
    print(f"{'shape':<34} {'tasks':>8} {'molexp µs':>10} {'asyncio µs':>10} {'ratio':>7}")
    wf = fan_out_in(sizes[-1])
    ours, base = interleaved(wf, lambda: bare_fan_out_in(sizes[-1]), repeats)
    tasks = len(wf)
    print(
        f"{f'fan-out/fan-in {sizes[-1]}':<34} {tasks:>8} {ours / tasks * 1e6:>10.2f} "
        f"{base / tasks * 1e6:>10.2f} {ours / base:>7.2f}"
    )
    for shape, (build, bare) in SHAPES.items():
        first: float | None = None
        for size in sizes:
            wf = build(size)
            tasks = len(wf)
            ours, base = interleaved(wf, lambda bare=bare, size=size: bare(size), repeats)
            us = ours / tasks * 1e6
            first = us if first is None else first
            print(
                f"{f'{shape} {size}':<34} {tasks:>8} {us:>10.2f} "
                f"{base / tasks * 1e6:>10.2f} {ours / base:>7.2f}"
            )
            del wf
        print(f"{f'  {shape}: flat ({sizes[-1]} ÷ {sizes[0]})':<34} {'':>8} {us / first:>10.2f}")


def gc_share(size: int, repeats: int) -> None:
    wf = fan_out(size)
    with_gc = min(timed(lambda: _run_molexp(wf)) for _ in range(repeats))
    gc.disable()
    try:
        without = min(timed(lambda: _run_molexp(wf)) for _ in range(repeats))
    finally:
        gc.enable()
    share = max(0.0, 1 - without / with_gc)
    print(f"cyclic GC share of molexp's time, fan-out {size}: {share:.0%}")


def declaring(size: int) -> None:
    started = time.perf_counter()
    fan_out(size)
    build = (time.perf_counter() - started) / size * 1e6
    print(f"declaring a workflow: {build:.2f} µs per wf.add")


def memory(size: int) -> None:
    """tracemalloc peak bytes per task: the graph and its execution vs bare asyncio."""
    gc.collect()
    tracemalloc.start()
    wf = fan_out(size)
    graph = tracemalloc.get_traced_memory()[0]
    asyncio.run(_run_molexp(wf))
    ours = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del wf
    gc.collect()
    tracemalloc.start()
    asyncio.run(bare_fan_out(size))
    base = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    tasks = size + 1
    print(
        f"memory, fan-out {size} (tracemalloc peak): molexp {ours / tasks:.0f} B/task "
        f"(graph alone {graph / tasks:.0f}), asyncio {base / tasks:.0f} B/task, "
        f"ratio {ours / base:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, fewer repeats")
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    repeats = 2 if args.quick else 5
    per_task_table(sizes, repeats)
    gc_share(sizes[-1], repeats)
    declaring(sizes[-1])
    memory(sizes[-1])


if __name__ == "__main__":
    main()
