"""Messages/s through a 3-stage actor pipeline vs a bare asyncio.Queue pipeline.

Run: ``python benchmarks/actors.py [--quick]``. Both use the same buffer capacity and
are measured in this process; best of N repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from molexp import Actor, ActorContext, Workflow, WorkflowRuntime

CAPACITY = 1024


class Source(Actor[ActorContext[None, None, None, None, int], int]):
    def __init__(self, count: int) -> None:
        self.count = count

    async def run(self, ctx: ActorContext[None, None, None, None, int]) -> AsyncIterator[int]:
        for i in range(self.count):
            await ctx.send(i)
        yield self.count


class Double(Actor[ActorContext[None, None, None, int, int], int]):
    async def run(self, ctx: ActorContext[None, None, None, int, int]) -> AsyncIterator[int]:
        async for value in ctx.messages():
            await ctx.send(value * 2)
        yield 0


class Sink(Actor[ActorContext[None, None, None, int, None], int]):
    async def run(self, ctx: ActorContext[None, None, None, int, None]) -> AsyncIterator[int]:
        total = 0
        async for value in ctx.messages():
            total += value
        yield total


def pipeline(count: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("pipeline")
    source = wf.add(Source(count))
    double = wf.add(Double(), after=source)
    wf.add(Sink(), after=double)
    return wf


async def molexp_pipeline(wf: Workflow[Any, Any, Any]) -> None:
    result = await WorkflowRuntime(channel_capacity=CAPACITY).execute(wf)
    result.raise_for_status()


async def bare_pipeline(count: int) -> None:
    done = object()
    q1: asyncio.Queue[Any] = asyncio.Queue(CAPACITY)
    q2: asyncio.Queue[Any] = asyncio.Queue(CAPACITY)

    async def source() -> None:
        for i in range(count):
            await q1.put(i)
        await q1.put(done)

    async def double() -> None:
        while (value := await q1.get()) is not done:
            await q2.put(value * 2)
        await q2.put(done)

    async def sink() -> int:
        total = 0
        while (value := await q2.get()) is not done:
            total += value
        return total

    await asyncio.gather(source(), double(), sink())


def best_of(repeats: int, make: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        asyncio.run(make())  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 10_000 if args.quick else 200_000
    repeats = 2 if args.quick else 5
    wf = pipeline(count)
    ours = count / best_of(repeats, lambda: molexp_pipeline(wf))
    base = count / best_of(repeats, lambda: bare_pipeline(count))
    print(f"3-stage pipeline, {count} messages, capacity {CAPACITY}")
    print(f"molexp actors : {ours:>12,.0f} msg/s")
    print(f"asyncio.Queue : {base:>12,.0f} msg/s")
    print(f"ratio (time)  : {base / ours:>12.2f}")


if __name__ == "__main__":
    main()
