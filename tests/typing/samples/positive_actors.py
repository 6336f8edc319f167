"""Static-only: actor typing (receive/send precise, yields typed through Node)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import assert_type

import attrs

from molexp import Actor, ActorContext, Node, Task, TaskContext, Workflow, WorkflowRuntime


@attrs.frozen
class Frame:
    step: int
    energy: float


@attrs.frozen
class Stats:
    mean: float


SamplerCtx = ActorContext[None, None, int, None, Frame]
MonitorCtx = ActorContext[None, None, None, Frame, Stats]


class Sampler(Actor[SamplerCtx, int]):
    async def run(self, ctx: SamplerCtx) -> AsyncIterator[int]:
        assert_type(ctx.inputs, int)
        for step in range(ctx.inputs):
            await ctx.send(Frame(step, -1.0))
        yield ctx.inputs


class Monitor(Actor[MonitorCtx, Stats]):
    async def run(self, ctx: MonitorCtx) -> AsyncIterator[Stats]:
        frame = await ctx.receive()
        assert_type(frame, Frame)
        total, n = frame.energy, 1
        async for more in ctx.messages():
            assert_type(more, Frame)
            total, n = total + more.energy, n + 1
        stats = Stats(total / n)
        await ctx.send(stats)
        yield stats


class Report(Task[TaskContext[None, None, Stats], str]):
    async def execute(self, ctx: TaskContext[None, None, Stats]) -> str:
        return f"{ctx.inputs.mean:.3f}"


async def wire() -> None:
    wf = Workflow("stream", input=int)
    sampler = wf.add(Sampler())
    assert_type(sampler, Node[int])
    monitor = wf.add(Monitor(), after=sampler)
    assert_type(monitor, Node[Stats])
    report = wf.add(Report(), after=monitor)
    result = await WorkflowRuntime().execute(wf, inputs=10)
    assert_type(result.output(monitor), Stats)
    assert_type(result.output(report), str)
