from __future__ import annotations

from typing import Any

from cg_protocol.models import Dataset, Deps, HasEngine, HasPositions, State
from molexp import Task, TaskContext

# A reusable task: it works in any workflow whose state has positions.
ReusableCtx = TaskContext[HasPositions, HasEngine, Dataset]


class Load(Task[TaskContext[State, Deps, None], Dataset]):
    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Dataset:
        return Dataset((1.0,))


class Center(Task[ReusableCtx, Dataset]):
    async def execute(self, ctx: ReusableCtx) -> Dataset:
        mean = sum(ctx.state.positions) / max(len(ctx.state.positions), 1)
        return Dataset(tuple(v - mean for v in ctx.inputs.values))


class Untyped(Task):
    async def execute(self, ctx: TaskContext) -> Dataset:
        return Dataset(())


class Tail(Task[TaskContext[Any, Any, Dataset], int]):
    async def execute(self, ctx: TaskContext[Any, Any, Dataset]) -> int:
        return len(ctx.inputs.values)
