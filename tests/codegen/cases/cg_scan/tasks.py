from __future__ import annotations

from collections.abc import Mapping, Sequence

from cg_scan.models import Pair, Relaxed, Special, State, Structure
from cg_scan.workflow_contexts import RelaxContext
from molexp import Task, TaskContext


class Build(Task[TaskContext[State, None, None], Structure]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> Structure:
        return Structure(3)


class Relax(Task[RelaxContext, Relaxed]):
    """One class on many nodes: it annotates the one context they share."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    async def execute(self, ctx: RelaxContext) -> Relaxed:
        return Relaxed(-float(ctx.inputs.n) + self.shift)


class RelaxSpecial(Task[TaskContext[State, None, Structure], Special]):
    async def execute(self, ctx: TaskContext[State, None, Structure]) -> Special:
        return Special(-1.0)


class Summary(Task[TaskContext[State, None, Sequence[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[State, None, Sequence[Relaxed]]) -> float:
        return min(r.energy for r in ctx.inputs)


class Keyed(Task[TaskContext[State, None, Mapping[str, Relaxed]], str]):
    async def execute(self, ctx: TaskContext[State, None, Mapping[str, Relaxed]]) -> str:
        return min(ctx.inputs, key=lambda k: ctx.inputs[k].energy)


class Paired(Task[TaskContext[State, None, Pair], float]):
    async def execute(self, ctx: TaskContext[State, None, Pair]) -> float:
        return ctx.inputs["first"].energy
