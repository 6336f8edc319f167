"""A toy simulation streaming frames to a monitor actor.

A Langevin particle in a harmonic well (k = 1) at temperature T: equipartition says the
mean potential energy is T/2. The sampler actor streams frames, the monitor actor keeps
running averages and forwards them every 1,000 frames to a reporter actor, and a plain
task checks the final average against T/2.

    setup (task) -> sampler (actor) ==frames==> monitor (actor) ==stats==> reporter (actor)
                                                  \\-> check (task, gets the monitor's last yield)

Run it with ``python examples/workflow/task_and_actor.py``.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator

import attrs

from molexp import Actor, ActorContext, Task, TaskContext, Workflow, WorkflowRuntime


@attrs.frozen
class Settings:
    temperature: float
    steps: int
    dt: float = 0.05
    friction: float = 1.0
    seed: int = 7


@attrs.frozen
class Frame:
    step: int
    position: float
    potential: float


@attrs.frozen
class RunningStats:
    frames: int
    mean_potential: float


class Setup(Task[TaskContext[None, None, None], Settings]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Settings:
        return Settings(
            temperature=ctx.config.get("temperature", 2.0), steps=ctx.config.get("steps", 50_000)
        )


class Sampler(Actor[ActorContext[None, None, Settings, None, Frame], int]):
    """Langevin dynamics (BAOAB-like splitting) streaming one frame per step."""

    async def run(self, ctx: ActorContext[None, None, Settings, None, Frame]) -> AsyncIterator[int]:
        s = ctx.inputs
        rng = random.Random(s.seed)
        x, v = 0.0, 0.0
        c1 = math.exp(-s.friction * s.dt)
        c2 = math.sqrt((1 - c1 * c1) * s.temperature)
        for step in range(s.steps):
            v -= 0.5 * s.dt * x
            x += 0.5 * s.dt * v
            v = c1 * v + c2 * rng.gauss(0.0, 1.0)
            x += 0.5 * s.dt * v
            v -= 0.5 * s.dt * x
            await ctx.send(Frame(step, x, 0.5 * x * x))
        yield s.steps


class Monitor(Actor[ActorContext[None, None, None, Frame, RunningStats], RunningStats]):
    """Running mean of the potential energy; forwards it every 1,000 frames."""

    async def run(
        self, ctx: ActorContext[None, None, None, Frame, RunningStats]
    ) -> AsyncIterator[RunningStats]:
        total, count = 0.0, 0
        while True:  # the seed's loop: ends cleanly when the sampler has finished
            frame = await ctx.receive()
            total += frame.potential
            count += 1
            if count % 1_000 == 0:
                stats = RunningStats(count, total / count)
                await ctx.send(stats)
                yield stats


class Reporter(Actor[ActorContext[None, None, None, RunningStats, None], int]):
    async def run(
        self, ctx: ActorContext[None, None, None, RunningStats, None]
    ) -> AsyncIterator[int]:
        async for stats in ctx.messages():
            if stats.frames % 10_000 == 0:
                print(f"  {stats.frames:>6} frames: <U> = {stats.mean_potential:.4f}")
                yield stats.frames


class Check(Task[TaskContext[None, None, dict[str, object]], str]):
    async def execute(self, ctx: TaskContext[None, None, dict[str, object]]) -> str:
        stats = ctx.inputs["stats"]
        settings = ctx.inputs["settings"]
        assert isinstance(stats, RunningStats) and isinstance(settings, Settings)
        expected = settings.temperature / 2
        error = abs(stats.mean_potential - expected) / expected
        verdict = "ok" if error < 0.1 else "off"
        return f"<U> = {stats.mean_potential:.3f}, equipartition T/2 = {expected:.3f} ({verdict}, {error:.1%})"


wf = Workflow("langevin-stream")
setup = wf.add(Setup())
sampler = wf.add(Sampler(), after=setup)
monitor = wf.add(Monitor(), after=sampler)
reporter = wf.add(Reporter(), after=monitor)
check = wf.add(Check(), after={"stats": monitor, "settings": setup})


async def main() -> None:
    print("streaming a Langevin particle through sampler -> monitor -> reporter")
    result = await WorkflowRuntime().execute(wf, config={"temperature": 2.0, "steps": 50_000})
    result.raise_for_status()
    print(f"frames sent: {result.sent['sampler']}, stats forwarded: {result.sent['monitor']}")
    print(result.output(check))


if __name__ == "__main__":
    asyncio.run(main())
