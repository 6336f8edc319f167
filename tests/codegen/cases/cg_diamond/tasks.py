from __future__ import annotations

from cg_diamond.models import Grid
from cg_diamond.workflow_contexts import JoinContext, LeftContext, RightContext
from molexp import Task, TaskContext


class Prepare(Task[TaskContext[None, None, None], Grid]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Grid:
        return Grid((0.0, 0.5, 1.0))


class Left(Task[LeftContext, float]):
    async def execute(self, ctx: LeftContext) -> float:
        return min(ctx.inputs.points)


class Right(Task[RightContext, float]):
    async def execute(self, ctx: RightContext) -> float:
        return max(ctx.inputs.points)


class Join(Task[JoinContext, float]):
    async def execute(self, ctx: JoinContext) -> float:
        return ctx.inputs["right"] - ctx.inputs["left"]
