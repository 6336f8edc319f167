from __future__ import annotations

from cg_fan_in3.models import Frame, State, Summary
from cg_fan_in3.workflow_contexts import SummarizeContext
from molexp import Task, TaskContext


class Energy(Task[TaskContext[State, None, None], float]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> float:
        return -ctx.state.temperature


class Frames(Task[TaskContext[State, None, None], list[Frame]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> list[Frame]:
        return [Frame(0, ((0.0, 0.0, 0.0),))]


class Metadata(Task[TaskContext[State, None, None], dict[str, str]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> dict[str, str]:
        return {"label": "argon"}


class Summarize(Task[SummarizeContext, Summary]):
    async def execute(self, ctx: SummarizeContext) -> Summary:
        inputs = ctx.inputs
        return Summary(inputs["energy"], len(inputs["frames"]), inputs["meta"]["label"])
