"""Per-task cost of the in-memory runtime vs bare asyncio doing the same shape.

Run: ``python benchmarks/runtime_overhead.py [--quick]``. Prints µs/task for molexp and for
a bare-asyncio baseline (one asyncio.Task per node awaiting its upstream tasks, then a
no-op coroutine), both measured in this process, and their ratio. Best of N repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
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


def best_of(repeats: int, make: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        asyncio.run(make())  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
    return best


async def _run_molexp(wf: Workflow[Any, Any, Any]) -> None:
    result = await WorkflowRuntime().execute(wf)
    result.raise_for_status()


def measure(
    name: str,
    tasks: int,
    wf: Workflow[Any, Any, Any],
    bare: Callable[[], Awaitable[Any]],
    repeats: int,
) -> tuple[str, float, float]:
    ours = best_of(repeats, lambda: _run_molexp(wf)) / tasks * 1e6
    base = best_of(repeats, bare) / tasks * 1e6
    print(f"{name:<34} {tasks:>8} {ours:>10.2f} {base:>10.2f} {ours / base:>7.2f}")
    return name, ours, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller graphs, fewer repeats")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    repeats = 2 if args.quick else 5
    print(f"{'shape':<34} {'tasks':>8} {'molexp µs':>10} {'asyncio µs':>10} {'ratio':>7}")
    shapes = [
        (
            f"fan-out/fan-in {10_000 // scale}",
            10_000 // scale + 2,
            fan_out_in(10_000 // scale),
            lambda: bare_fan_out_in(10_000 // scale),
        ),
        (
            f"chain {2_000 // scale}",
            2_000 // scale,
            chain(2_000 // scale),
            lambda: bare_chain(2_000 // scale),
        ),
        (
            f"fan-out {1_000 // scale}",
            1_000 // scale + 1,
            fan_out(1_000 // scale),
            lambda: bare_fan_out(1_000 // scale),
        ),
        (
            f"fan-out {10_000 // scale}",
            10_000 // scale + 1,
            fan_out(10_000 // scale),
            lambda: bare_fan_out(10_000 // scale),
        ),
        (
            f"fan-out {100_000 // scale}",
            100_000 // scale + 1,
            fan_out(100_000 // scale),
            lambda: bare_fan_out(100_000 // scale),
        ),
    ]
    for name, tasks, wf, bare in shapes:
        measure(name, tasks, wf, bare, repeats)
    started = time.perf_counter()
    fan_out(100_000 // scale)
    build = (time.perf_counter() - started) / (100_000 // scale) * 1e6
    print(f"declaring a workflow: {build:.2f} µs per wf.add")


if __name__ == "__main__":
    main()
