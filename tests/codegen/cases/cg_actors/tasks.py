from __future__ import annotations

from collections.abc import AsyncIterator
from typing import assert_type

from cg_actors.models import Frame, Reading, Settings, Stats, Summary
from cg_actors.workflow_contexts import (
    MonitorContext,
    ReportContext,
    SamplerContext,
    SetupContext,
    ThermostatContext,
    WriterContext,
)
from molexp import Actor, Task


class Setup(Task[SetupContext, Settings]):
    async def execute(self, ctx: SetupContext) -> Settings:
        return Settings(steps=ctx.inputs, temperature=300.0)


class Sampler(Actor[SamplerContext[Frame], int]):
    """Streams one frame per step; yields how many it sent."""

    async def run(self, ctx: SamplerContext[Frame]) -> AsyncIterator[int]:
        ctx.state.contexts.append(type(ctx).__name__)
        for step in range(ctx.inputs.steps):
            await ctx.send(Frame(step, 0.5 * step))
        yield ctx.inputs.steps


class Thermostat(Actor[ThermostatContext[Reading], float]):
    """Streams a reading every 5 steps; yields the last temperature."""

    async def run(self, ctx: ThermostatContext[Reading]) -> AsyncIterator[float]:
        ctx.state.contexts.append(type(ctx).__name__)
        for step in range(0, ctx.inputs.steps, 5):
            await ctx.send(Reading(step, ctx.inputs.temperature))
        yield ctx.inputs.temperature


class Monitor(Actor[MonitorContext[Stats], Stats]):
    """Receives frames and readings (a union), forwards running statistics."""

    always_yields = True  # its final statistics: the report gets Stats, not Stats | None

    async def run(self, ctx: MonitorContext[Stats]) -> AsyncIterator[Stats]:
        ctx.state.contexts.append(type(ctx).__name__)
        frames = readings = 0
        total = 0.0
        async for message in ctx.messages():
            assert_type(message, Frame | Reading)  # the union of what its channels carry
            if isinstance(message, Frame):
                frames += 1
                total += message.potential
            else:
                readings += 1
            stats = Stats(frames, readings, total / frames if frames else 0.0)
            if (frames + readings) % ctx.inputs == 0:
                await ctx.send(stats)
        stats = Stats(frames, readings, total / frames if frames else 0.0)
        await ctx.send(stats)
        yield stats


class Writer(Actor[WriterContext, str]):
    """A sink: receives statistics, sends nothing, yields the lines it wrote."""

    async def run(self, ctx: WriterContext) -> AsyncIterator[str]:
        ctx.state.contexts.append(type(ctx).__name__)
        engine = ctx.deps.engine
        async for stats in ctx.messages():
            yield f"{engine} T={ctx.inputs['settings'].temperature}: {stats.frames} frames"


async def a_bare_context_sends_nothing(ctx: WriterContext, stats: Stats) -> None:
    """Static only (never called): the writer named no send type, so it may not send."""
    await ctx.send(stats)  # type: ignore[arg-type]


class Report(Task[ReportContext, Summary]):
    async def execute(self, ctx: ReportContext) -> Summary:
        stats = ctx.inputs["stats"]
        return Summary(f"{ctx.inputs['last_line']} / <U> = {stats.mean_potential:.2f}")
