from __future__ import annotations

from molexp import Task, TaskContext


class Step(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        return 1


class Scale(Task[TaskContext[None, None, int], float]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> float:
        return ctx.inputs * 2.0


class Collect(Task[TaskContext[None, None, object], str]):
    async def execute(self, ctx: TaskContext[None, None, object]) -> str:
        return repr(ctx.inputs)


class Double(Scale):
    """A class of its own, so its node gets its own context (named after the node)."""


class Triple(Scale):
    """A class of its own, so its node gets its own context (named after the node)."""
