from __future__ import annotations

from collections.abc import Sequence

from cg_map.models import Polished, Relaxed, State, Structure
from cg_map.workflow_contexts import BestContext, RelaxContext
from molexp import Task, TaskContext


class Generate(Task[TaskContext[State, None, None], list[Structure]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> list[Structure]:
        return [Structure(n) for n in range(4)]


class Relax(Task[RelaxContext, Relaxed]):
    """Mapped: its generated context's input is one Structure."""

    async def execute(self, ctx: RelaxContext) -> Relaxed:
        return Relaxed(-float(ctx.inputs.n))


class Summary(Task[TaskContext[State, None, Sequence[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[State, None, Sequence[Relaxed]]) -> float:
        return min(r.energy for r in ctx.inputs)


class Best(Task[BestContext, Relaxed]):
    """After a map: its generated context's input is list[Relaxed]."""

    async def execute(self, ctx: BestContext) -> Relaxed:
        return min(ctx.inputs, key=lambda r: r.energy)


class Notes(Task[TaskContext[State, None, list[Polished]], str]):
    async def execute(self, ctx: TaskContext[State, None, list[Polished]]) -> str:
        return ",".join(p.note for p in ctx.inputs)
