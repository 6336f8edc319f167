"""Static-only negative cases: every `# type: ignore[code]` pins an error that must occur.

mypy runs with --strict (warn_unused_ignores) and basedpyright with
reportUnnecessaryTypeIgnoreComment, so a pinned error that disappears fails the test, and
an error with another code (mypy) or on an unpinned line fails it too.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from molexp import Task, TaskContext, Workflow, WorkflowRuntime


@attrs.define
class State:
    temperature: float = 300.0


@attrs.define
class ColdState:
    pressure: float = 1.0


@attrs.frozen
class Dataset:
    size: int


@attrs.frozen
class Model:
    weights: tuple[float, ...]


class HasTemperature(Protocol):
    @property
    def temperature(self) -> float: ...


TrainCtx = TaskContext[State, None, Dataset]


class Train(Task[TrainCtx, Model]):
    async def execute(self, ctx: TrainCtx) -> Model:
        return Model(weights=(float(ctx.inputs.size),))


class Thermostat(Task[TaskContext[HasTemperature, Any, Dataset], float]):
    async def execute(self, ctx: TaskContext[HasTemperature, Any, Dataset]) -> float:
        return ctx.state.temperature


class WrongOverride(Task[TrainCtx, Model]):
    # The subclass declared TrainCtx as its context; accepting less is a Liskov violation.
    async def execute(self, ctx: TaskContext[State, None, Model]) -> Model:  # type: ignore[override]
        return ctx.inputs


class WrongReturn(Task[TrainCtx, Model]):
    async def execute(self, ctx: TrainCtx) -> Model:
        return ctx.inputs  # type: ignore[return-value]


class NotAContext(Task[int, str]):  # type: ignore[type-var]
    async def execute(self, ctx: int) -> str:
        return str(ctx)


class ReadOnlyFields(Task[TrainCtx, None]):
    async def execute(self, ctx: TrainCtx) -> None:
        ctx.state = State()  # type: ignore[misc]
        ctx.inputs.missing  # type: ignore[attr-defined]


async def protocol_state_not_satisfied(
    task: Thermostat, ctx: TaskContext[ColdState, None, Dataset]
) -> None:
    await task.execute(ctx)  # type: ignore[arg-type]


async def wrong_single_input(task: Train, ctx: TaskContext[State, None, Model]) -> None:
    await task.execute(ctx)  # type: ignore[arg-type]


async def wrong_state(task: Train, ctx: TaskContext[ColdState, None, Dataset]) -> None:
    await task.execute(ctx)  # type: ignore[arg-type]


async def outputs_are_typed() -> None:
    wf = Workflow("w", state=State)
    train = wf.add(Train(), name="train")
    result = await WorkflowRuntime().execute(wf, state=State())
    name: str = result.output(train)  # type: ignore[assignment]
    print(name)
    result.state.pressure  # type: ignore[attr-defined]
    wf.add(object())  # type: ignore[arg-type]
    wf.add(Train(), after="train")  # type: ignore[arg-type]
    # mypy reports the state mismatch as "Cannot infer value of type parameter" [misc];
    # pyright as an argument type error. Either way the line is rejected.
    await WorkflowRuntime().execute(wf, state=ColdState())  # type: ignore[misc]


async def asave_must_be_awaited(ctx: TaskContext[State, None, Dataset]) -> None:
    store = ctx.artifact
    if store is not None:
        store.asave("b.json", {"n": 2}).version  # type: ignore[attr-defined]
        version: int = store.save("a.json", 1).name  # type: ignore[assignment]
        print(version)
