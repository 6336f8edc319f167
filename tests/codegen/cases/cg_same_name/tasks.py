from __future__ import annotations

from cg_same_name.a.frames import Frame
from cg_same_name.b import frames as pictures
from cg_same_name.workflow_contexts import CompareContext, TrainContext
from molexp import Task, TaskContext


class Simulate(Task[TaskContext[None, None, None], Frame]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Frame:
        return Frame(1)


class Draw(Task[TaskContext[None, None, None], pictures.Frame]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> pictures.Frame:
        return pictures.Frame(640)


class Note(Task[TaskContext[None, None, None], pictures.Any]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> pictures.Any:
        return pictures.Any("x")


class Train(Task[TrainContext, pictures.TrainContext]):
    async def execute(self, ctx: TrainContext) -> pictures.TrainContext:
        return pictures.TrainContext(ctx.inputs.anything)


class Compare(Task[CompareContext, int]):
    async def execute(self, ctx: CompareContext) -> int:
        return ctx.inputs["sim"].step + ctx.inputs["pic"].width + len(ctx.inputs["train"].note)
