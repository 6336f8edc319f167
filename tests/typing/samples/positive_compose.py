"""Static-only positive composition cases: maps and sub-workflows keep their types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_type

import attrs

from molexp import Node, SubWorkflow, Task, TaskContext, Workflow


@attrs.define
class State:
    steps: int = 0


@attrs.frozen
class Structure:
    n: int


@attrs.frozen
class Relaxed:
    energy: float


class Generate(Task[TaskContext[State, None, None], list[Structure]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> list[Structure]:
        return [Structure(1)]


class Relax(Task[TaskContext[State, None, Structure], Relaxed]):
    async def execute(self, ctx: TaskContext[State, None, Structure]) -> Relaxed:
        assert_type(ctx.inputs, Structure)  # one element of the mapped sequence
        return Relaxed(-float(ctx.inputs.n))


class Summary(Task[TaskContext[State, None, Sequence[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[State, None, Sequence[Relaxed]]) -> float:
        return min(r.energy for r in ctx.inputs)


class First(Task[TaskContext[State, None, list[Structure]], Structure]):
    async def execute(self, ctx: TaskContext[State, None, list[Structure]]) -> Structure:
        return ctx.inputs[0]


class Batches(Task[TaskContext[State, None, None], list[list[Structure]]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> list[list[Structure]]:
        return [[Structure(1)]]


class Pass(Task[TaskContext[State, None, list[Structure]], list[Structure]]):
    async def execute(self, ctx: TaskContext[State, None, list[Structure]]) -> list[Structure]:
        return ctx.inputs


inner = Workflow("relax", state=State, input=Structure)
relaxed_inner = inner.add(Relax())

# nested fan-out: a sub-workflow that maps, itself mapped
batch = Workflow("batch", state=State, input=list[Structure])
batch_best = batch.add(Summary(), after=batch.map(Relax(), over=batch.add(Pass())))

wf = Workflow("scan", state=State)
generate = wf.add(Generate())
batches = wf.add(Batches())
relaxed = wf.map(Relax(), over=generate, max_concurrency=4)
assert_type(relaxed, Node[list[Relaxed]])
summary = wf.add(Summary(), after=relaxed)
assert_type(summary, Node[float])

sub = SubWorkflow(inner, output=relaxed_inner)
assert_type(sub, SubWorkflow[State, Any, Structure, Relaxed])  # no deps declared: Any
first = wf.add(First(), after=generate)
one = wf.add(sub, after=first)
assert_type(one, Node[Relaxed])
many = wf.map(SubWorkflow(inner, output=relaxed_inner), over=generate, name="many")
assert_type(many, Node[list[Relaxed]])
nested = wf.map(SubWorkflow(batch, output=batch_best), over=batches, name="batched")
assert_type(nested, Node[list[float]])
