from __future__ import annotations

from collections.abc import Callable, Sequence

from cg_generics.models import Box, Model
from cg_generics.workflow_contexts import ConsumeContext
from molexp import Task, TaskContext


class Models(Task[TaskContext[None, None, None], list[Model]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[Model]:
        return [Model((1.0,))]


class Scores(Task[TaskContext[None, None, list[Model]], dict[str, float]]):
    async def execute(self, ctx: TaskContext[None, None, list[Model]]) -> dict[str, float]:
        return {"m0": sum(ctx.inputs[0].weights)}


class Boxed(Task[TaskContext[None, None, None], Box[Model]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Box[Model]:
        return Box(Model(()))


class Shape(Task[TaskContext[None, None, None], tuple[int, ...]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> tuple[int, ...]:
        return (3, 3)


class Seq(Task[TaskContext[None, None, None], Sequence[Box[int]]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Sequence[Box[int]]:
        return [Box(1)]


class Scorer(Task[TaskContext[None, None, None], Callable[[Model, int], float]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Callable[[Model, int], float]:
        return lambda m, k: float(k)


class Consume(Task[ConsumeContext, int]):
    async def execute(self, ctx: ConsumeContext) -> int:
        scores: dict[str, float] = ctx.inputs["scores"]
        item: Model = ctx.inputs["boxed"].item
        return len(scores) + len(item.weights) + len(ctx.inputs["shape"])
