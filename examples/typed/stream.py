"""Actors with generated contexts: a Langevin particle streamed through a monitor.

A particle in a harmonic well (k = 1) at temperature T: equipartition says the mean
potential energy is T/2. ``molexp gen examples/typed/stream.py`` writes
``stream_contexts.py``; each actor names its generated context with what it *sends*
(``SamplerContext[Frame]``), and the graph gives what it *receives*:

    setup (task) -> sampler (actor) ==Frame==> monitor (actor) ==RunningStats==> reporter (actor)
                                                  \\-> check (task: the monitor's last yield)

``python examples/typed/run.py`` runs it.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator

import attrs

from molexp import Actor, Task, TaskContext, Workflow
from typed.stream_contexts import CheckContext, MonitorContext, ReporterContext, SamplerContext


@attrs.frozen
class Settings:
    temperature: float
    steps: int
    dt: float = 0.05
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


class Setup(Task[TaskContext[None, None, float], Settings]):
    async def execute(self, ctx: TaskContext[None, None, float]) -> Settings:
        return Settings(temperature=ctx.inputs, steps=ctx.config.get("steps", 20_000))


class Sampler(Actor[SamplerContext[Frame], int]):
    """Langevin dynamics streaming one frame per step; yields how many it sent."""

    async def run(self, ctx: SamplerContext[Frame]) -> AsyncIterator[int]:
        s = ctx.inputs  # Settings: the output of setup
        rng = random.Random(s.seed)
        x, v = 0.0, 0.0
        c1 = math.exp(-s.dt)
        c2 = math.sqrt((1 - c1 * c1) * s.temperature)
        for step in range(s.steps):
            v -= 0.5 * s.dt * x
            x += 0.5 * s.dt * v
            v = c1 * v + c2 * rng.gauss(0.0, 1.0)
            x += 0.5 * s.dt * v
            v -= 0.5 * s.dt * x
            await ctx.send(Frame(step, x, 0.5 * x * x))  # only a Frame type-checks here
        yield s.steps


class Monitor(Actor[MonitorContext[RunningStats], RunningStats]):
    """Running mean of the potential energy; forwards it every 1,000 frames."""

    async def run(self, ctx: MonitorContext[RunningStats]) -> AsyncIterator[RunningStats]:
        total, count = 0.0, 0
        async for frame in ctx.messages():  # Frame: what the sampler sends
            total += frame.potential
            count += 1
            if count % 1_000 == 0:
                stats = RunningStats(count, total / count)
                await ctx.send(stats)
                yield stats


class Reporter(Actor[ReporterContext, int]):
    """A sink (a bare context sends nothing): prints every 5,000 frames."""

    async def run(self, ctx: ReporterContext) -> AsyncIterator[int]:
        async for stats in ctx.messages():  # RunningStats: what the monitor sends
            if stats.frames % 5_000 == 0:
                print(f"  {stats.frames:>6} frames: <U> = {stats.mean_potential:.4f}")
                yield stats.frames


class Check(Task[CheckContext, str]):
    async def execute(self, ctx: CheckContext) -> str:
        stats = ctx.inputs["stats"]  # RunningStats | None: the monitor's last yield, if any
        if stats is None:  # fewer than 1,000 frames: the monitor yielded nothing
            return "too few frames for a mean"
        expected = ctx.inputs["settings"].temperature / 2
        error = abs(stats.mean_potential - expected) / expected
        verdict = "ok" if error < 0.15 else "off"
        return f"<U> = {stats.mean_potential:.3f}, T/2 = {expected:.3f} ({verdict})"


stream = Workflow("langevin-stream", input=float)
setup = stream.add(Setup())
sampler = stream.add(Sampler(), after=setup)
monitor = stream.add(Monitor(), after=sampler)
reporter = stream.add(Reporter(), after=monitor)
check = stream.add(Check(), after={"stats": monitor, "settings": setup})
