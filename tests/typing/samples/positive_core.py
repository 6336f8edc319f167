"""Static-only: what the core's types promise. Checked by mypy --strict and basedpyright."""

from __future__ import annotations

from typing import Any, Protocol, assert_type

import attrs

from molexp import Node, ProfileConfig, Task, TaskContext, Workflow, WorkflowResult, WorkflowRuntime
from molexp.workspace import ArtifactAsset


@attrs.define
class State:
    temperature: float = 300.0


@attrs.frozen
class Deps:
    engine: str


@attrs.frozen
class Dataset:
    size: int


@attrs.frozen
class Model:
    weights: tuple[float, ...]


class HasTemperature(Protocol):
    @property
    def temperature(self) -> float: ...


PrepareCtx = TaskContext[State, Deps, None]
TrainCtx = TaskContext[State, Deps, Dataset]


class Prepare(Task[PrepareCtx, Dataset]):
    async def execute(self, ctx: PrepareCtx) -> Dataset:
        assert_type(ctx.state, State)
        assert_type(ctx.deps, Deps)
        assert_type(ctx.inputs, None)
        assert_type(ctx.config, ProfileConfig)
        assert_type(ctx.config.get("lr", 1e-3), Any)
        assert_type(ctx.config.name, str | None)
        assert_type(ctx.task_id, str | None)
        ctx.state.temperature += 1.0  # the state object itself is mutable
        return Dataset(size=len(ctx.deps.engine))


class TrainContext(TaskContext[State, Deps, Dataset]):
    """What a generated context looks like: a final subclass with fixed parameters."""

    __slots__ = ()


class Train(Task[TrainContext, Model]):
    async def execute(self, ctx: TrainContext) -> Model:  # no override error
        assert_type(ctx.inputs, Dataset)
        assert_type(ctx.inputs.size, int)
        return Model(weights=(float(ctx.inputs.size),))


class Thermostat(Task[TaskContext[HasTemperature, Any, Dataset], float]):
    """A reusable task that only asks for a state with a temperature."""

    async def execute(self, ctx: TaskContext[HasTemperature, Any, Dataset]) -> float:
        return ctx.state.temperature * ctx.inputs.size


class Evaluate(Task[TaskContext[State, Deps, dict[str, Model | float]], str]):
    async def execute(self, ctx: TaskContext[State, Deps, dict[str, Model | float]]) -> str:
        return repr(ctx.inputs["train"])


class Untyped(Task):
    async def execute(self, ctx: TaskContext) -> dict[str, int]:
        assert_type(ctx.inputs, Any)
        return {}


async def protocol_state_is_accepted(task: Thermostat, ctx: TrainContext) -> None:
    # Covariant StateT: a context for State fits a task asking for HasTemperature.
    assert_type(await task.execute(ctx), float)


async def build_and_run() -> None:
    wf = Workflow("typed", state=State, deps=Deps)
    prepare = wf.add(Prepare())
    assert_type(prepare, Node[Dataset])
    train = wf.add(Train(), after=prepare)
    assert_type(train, Node[Model])
    thermo = wf.add(Thermostat(), after=prepare)
    assert_type(thermo, Node[float])
    evaluate = wf.add(Evaluate(), after={"train": train, "thermo": thermo})
    untyped = wf.add(Untyped(), after=[train, thermo], name="untyped")
    assert_type(untyped, Node[Any])  # `class Untyped(Task)` declares no output type

    result = await WorkflowRuntime().execute(wf, state=State(), deps=Deps("lammps"))
    assert_type(result, WorkflowResult[State])
    assert_type(result.state, State)
    assert_type(result.output(train), Model)
    assert_type(result.output(evaluate), str)
    assert_type(result.raise_for_status(), WorkflowResult[State])
    result2 = await WorkflowRuntime().execute(wf, config={"lr": 0.1}, max_concurrency=4)
    assert_type(result2.failure.task_id if result2.failure else None, str | None)


async def saves_under_a_run(ctx: TaskContext[State, None, Dataset]) -> None:
    store = ctx.artifact
    if store is not None:
        assert_type(store.save("a.json", {"n": 1}), ArtifactAsset)
        assert_type(await store.asave("b.json", {"n": 2}), ArtifactAsset)
