"""Static-only negative composition cases: each pinned error must occur."""

from __future__ import annotations

import attrs

from molexp import Node, SubWorkflow, Task, TaskContext, Workflow


@attrs.frozen
class Structure:
    n: int


@attrs.frozen
class Relaxed:
    energy: float


class One(Task[TaskContext[None, None, None], Structure]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Structure:
        return Structure(1)


class Many(Task[TaskContext[None, None, None], list[Structure]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[Structure]:
        return [Structure(1)]


class Relax(Task[TaskContext[None, None, Structure], Relaxed]):
    async def execute(self, ctx: TaskContext[None, None, Structure]) -> Relaxed:
        return Relaxed(0.0)


inner = Workflow("relax", input=Structure)
relaxed_inner = inner.add(Relax())

wf = Workflow("scan")
one = wf.add(One())
many = wf.add(Many())

wf.map(Relax(), over=one)  # type: ignore[arg-type]  # a map over a non-sequence
single: Node[Relaxed] = wf.map(Relax(), over=many)  # type: ignore[assignment]  # a list, not one
wrong: Node[Structure] = wf.add(SubWorkflow(inner, output=relaxed_inner))  # type: ignore[arg-type]
SubWorkflow(relaxed_inner, output=relaxed_inner)  # type: ignore[arg-type]  # not a workflow
