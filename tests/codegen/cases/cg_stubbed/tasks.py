from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from molexp import Task, TaskContext

if TYPE_CHECKING:
    from stubbed_flow_contexts import MergeContext, ScaleContext
else:  # no generated module at runtime: the plain base class stands in
    MergeContext = ScaleContext = TaskContext


@attrs.frozen
class Sample:
    values: tuple[float, ...]


class Draw(Task[TaskContext[None, None, int], Sample]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> Sample:
        return Sample(tuple(float(i) for i in range(ctx.inputs)))


class Scale(Task[ScaleContext, Sample]):
    async def execute(self, ctx: ScaleContext) -> Sample:
        return Sample(tuple(2.0 * v for v in ctx.inputs.values))


class Merge(Task[MergeContext, float]):
    async def execute(self, ctx: MergeContext) -> float:
        return sum(ctx.inputs["raw"].values) + sum(ctx.inputs["scaled"].values)
