"""Negative corpus: broken workflows, each with its pinned type errors on its edge.

Every case starts from one small valid workflow (``BASE``), applies text patches before
generation (a broken graph) or after it (a stale generated module), and pins, per broken
edge, exactly one error: inside the check function named after the edge, with a message
fragment. All cases go through one mypy run and one basedpyright run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import attrs
import pytest
from codegen_helpers import Diagnostic, run_mypy, run_pyright

BASE = {
    "__init__.py": '"""A negative case."""\n',
    "models.py": """\
from __future__ import annotations

from typing import Protocol

import attrs
from typing_extensions import ReadOnly, TypedDict


@attrs.define
class State:
    steps: int = 0
    temperature: float = 300.0


@attrs.define
class OtherState:
    pressure: float = 1.0


@attrs.frozen
class Deps:
    engine: str


@attrs.frozen
class Dataset:
    values: tuple[float, ...]


@attrs.frozen
class Frames:
    count: int


@attrs.frozen
class Model:
    weights: tuple[float, ...]


@attrs.frozen
class Report:
    score: float


class HasTemperature(Protocol):
    @property
    def temperature(self) -> float: ...


class HasPressure(Protocol):
    @property
    def pressure(self) -> float: ...


class EvalInputs(TypedDict):
    train: ReadOnly[Model]
    baseline: ReadOnly[Model]
""",
    "tasks.py": """\
from __future__ import annotations

from typing import Any

from molexp import Task, TaskContext

from PKG.models import (
    Dataset,
    Deps,
    EvalInputs,
    Frames,
    HasPressure,
    HasTemperature,
    Model,
    OtherState,
    Report,
    State,
)

__all__ = ["Any", "Frames", "HasPressure", "HasTemperature", "OtherState"]


class Prepare(Task[TaskContext[State, Deps, None], Dataset]):
    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Dataset:
        return Dataset((1.0, 2.0))


class Train(Task[TaskContext[State, Deps, Dataset], Model]):
    async def execute(self, ctx: TaskContext[State, Deps, Dataset]) -> Model:
        return Model(ctx.inputs.values)


class Baseline(Task[TaskContext[HasTemperature, Any, Dataset], Model]):
    async def execute(self, ctx: TaskContext[HasTemperature, Any, Dataset]) -> Model:
        return Model((ctx.state.temperature,))


class Evaluate(Task[TaskContext[State, Deps, EvalInputs], Report]):
    async def execute(self, ctx: TaskContext[State, Deps, EvalInputs]) -> Report:
        return Report(sum(ctx.inputs["train"].weights) - len(repr(ctx.inputs["baseline"])))
""",
    "workflow.py": """\
from __future__ import annotations

from molexp import Workflow

from PKG.models import Deps, State
from PKG.tasks import Baseline, Evaluate, Prepare, Train

wf = Workflow("negative", state=State, deps=Deps)
prepare = wf.add(Prepare())
train = wf.add(Train(), after=prepare)
baseline = wf.add(Baseline(), after=prepare)
evaluate = wf.add(Evaluate(), after={"train": train, "baseline": baseline})
""",
}

ACTOR_BASE = {
    "__init__.py": '"""A negative case with actors."""\n',
    "models.py": """\
from __future__ import annotations

import attrs


@attrs.define
class State:
    steps: int = 0


@attrs.define
class OtherState:
    pressure: float = 1.0


@attrs.frozen
class Deps:
    engine: str


@attrs.frozen
class Settings:
    steps: int


@attrs.frozen
class Frame:
    step: int


@attrs.frozen
class Reading:
    temperature: float


@attrs.frozen
class Stats:
    frames: int
""",
    "tasks.py": """\
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Never

from molexp import Actor, ActorContext, Task, TaskContext

from PKG.models import Deps, Frame, OtherState, Reading, Settings, State, Stats
from PKG.workflow_contexts import (
    CheckContext,
    MonitorContext,
    SamplerContext,
    ThermostatContext,
    WriterContext,
)

# Re-exported so that a case replacing one of them leaves no unused import behind.
__all__ = [
    "ActorContext",
    "CheckContext",
    "Deps",
    "Frame",
    "MonitorContext",
    "Never",
    "OtherState",
    "SamplerContext",
    "TaskContext",
    "ThermostatContext",
    "WriterContext",
]


class Setup(Task[TaskContext[State, Deps, None], Settings]):
    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Settings:
        return Settings(10)


class Sampler(Actor[SamplerContext[Frame], int]):
    async def run(self, ctx: SamplerContext[Frame]) -> AsyncIterator[int]:
        for step in range(ctx.inputs.steps):
            await ctx.send(Frame(step))
        yield ctx.inputs.steps


class Thermostat(Actor[ThermostatContext[Reading], float]):
    async def run(self, ctx: ThermostatContext[Reading]) -> AsyncIterator[float]:
        await ctx.send(Reading(300.0))
        yield 300.0


class Monitor(Actor[MonitorContext[Stats], Stats]):
    async def run(self, ctx: MonitorContext[Stats]) -> AsyncIterator[Stats]:
        frames = 0
        async for _ in ctx.messages():
            frames += 1
        await ctx.send(Stats(frames))
        yield Stats(frames)

    always_yields = True  # the check after it gets Stats, not Stats | None


class Writer(Actor[WriterContext, str]):
    async def run(self, ctx: WriterContext) -> AsyncIterator[str]:
        async for stats in ctx.messages():
            yield str(stats.frames)


class Check(Task[CheckContext, int]):
    async def execute(self, ctx: CheckContext) -> int:
        return ctx.inputs.frames
""",
    "workflow.py": """\
from __future__ import annotations

from molexp import Workflow

from PKG.models import Deps, State
from PKG.tasks import Check, Monitor, Sampler, Setup, Thermostat, Writer

wf = Workflow("negative-actors", state=State, deps=Deps)
setup = wf.add(Setup())
sampler = wf.add(Sampler(), after=setup)
thermostat = wf.add(Thermostat())
monitor = wf.add(Monitor(), after=[sampler, thermostat])
writer = wf.add(Writer(), after=monitor)
check = wf.add(Check(), after=monitor)
""",
}
MAP_BASE = {
    "__init__.py": '"""A negative case with maps and a sub-workflow."""\n',
    "models.py": """\
from __future__ import annotations

import attrs


@attrs.define
class State:
    steps: int = 0


@attrs.define
class OtherState:
    pressure: float = 1.0


@attrs.frozen
class Structure:
    n: int


@attrs.frozen
class Molecule:
    name: str


@attrs.frozen
class Relaxed:
    energy: float


@attrs.frozen
class Polished:
    energy: float
""",
    "inner.py": """\
from __future__ import annotations

from molexp import Task, TaskContext, Workflow

from PKG.models import OtherState, Polished, Relaxed, State, Structure

__all__ = ["OtherState", "Polished", "Relaxed", "State", "Structure"]


class Polish(Task[TaskContext[State, None, Relaxed], Polished]):
    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Polished:
        return Polished(ctx.inputs.energy)


inner = Workflow("refine", state=State, input=Relaxed)
polished = inner.add(Polish())
""",
    "tasks.py": """\
from __future__ import annotations

from collections.abc import Sequence

from molexp import Task, TaskContext

from PKG.models import Molecule, Polished, Relaxed, State, Structure
from PKG.workflow_contexts import RelaxContext

__all__ = ["Molecule", "RelaxContext", "TaskContext"]


class Generate(Task[TaskContext[State, None, None], list[Structure]]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> list[Structure]:
        return [Structure(n) for n in range(3)]


class Relax(Task[RelaxContext, Relaxed]):
    async def execute(self, ctx: RelaxContext) -> Relaxed:
        return Relaxed(float(ctx.inputs.n))


class Summary(Task[TaskContext[State, None, Sequence[Polished]], float]):
    async def execute(self, ctx: TaskContext[State, None, Sequence[Polished]]) -> float:
        return min(p.energy for p in ctx.inputs)
""",
    "workflow.py": """\
from __future__ import annotations

from molexp import SubWorkflow, Workflow

from PKG.inner import inner, polished
from PKG.models import State
from PKG.tasks import Generate, Relax, Summary

wf = Workflow("negative-maps", state=State)
generate = wf.add(Generate())
relaxed = wf.map(Relax(), over=generate)
refined = wf.map(SubWorkflow(inner, output=polished), over=relaxed, name="refine")
summary = wf.add(Summary(), after=refined)
""",
}
BASES = {"tasks": BASE, "actors": ACTOR_BASE, "maps": MAP_BASE}

Patch = tuple[str, str, str]
"""(file, old text, new text): ``old`` must occur in ``file``."""


@attrs.frozen
class Case:
    name: str
    expected: tuple[tuple[str, str], ...]
    """(check function, message fragment) per broken edge."""
    before: tuple[Patch, ...] = ()
    after: tuple[Patch, ...] = ()
    """Patches applied after generation: the generated module is then stale. A mis-wiring
    between plain classes is one too: ``wf.add`` refuses it when the workflow is imported
    (so ``molexp gen`` would too), and the checkers still catch it without importing."""
    pyright_also: tuple[str, ...] = ()
    """Files where basedpyright also reports the mistake (it checks ``wf.add`` too)."""
    base: str = "tasks"
    """Which base workflow the patches apply to (``BASES``)."""
    also: tuple[str, ...] = ()
    """Files (besides the edge checks) where both checkers also report the mistake, e.g.
    ``wf.map(..., over=node)`` on a node that gives no sequence; each has an error."""


_CTX_ACCEPT = 'to "execute" of "{task}" has incompatible type "{ctx}"; expected "{want}"'
_ARG = 'Argument 1 has incompatible type "{got}"; expected "{want}"'

CASES = [
    Case(
        "wrong_single_input",
        after=(
            (
                "tasks.py",
                "TaskContext[State, Deps, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset]) -> Model:\n        return Model(ctx.inputs.values)",
                "TaskContext[State, Deps, Frames], Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Frames]) -> Model:\n        return Model((float(ctx.inputs.count),))",
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, Deps, Dataset]",
                    want="TaskContext[State, Deps, Frames]",
                ),
            ),
        ),
    ),
    Case(
        "fan_in_wrong_value_type",
        after=(("models.py", "    baseline: ReadOnly[Model]", "    baseline: ReadOnly[Report]"),),
        expected=(
            (
                "edge__baseline__evaluate",
                'Argument 1 has incompatible type "Model"; expected "Report"',
            ),
        ),
    ),
    Case(
        "fan_in_missing_key",
        before=(
            (
                "workflow.py",
                '{"train": train, "baseline": baseline}',
                '{"train": train, "base": baseline}',
            ),
        ),
        expected=(
            ("edge__baseline__evaluate", 'TypedDict "EvalInputs" has no key "base"'),
            ("fan_in__evaluate", 'Missing key "baseline" for TypedDict "EvalInputs"'),
        ),
    ),
    Case(
        "fan_in_extra_key",  # a graph key the task's TypedDict (closed, PEP 728) lacks
        before=(
            (
                "models.py",
                "class EvalInputs(TypedDict):",
                "class EvalInputs(TypedDict, closed=True):",
            ),
            (
                "workflow.py",
                '{"train": train, "baseline": baseline}',
                '{"train": train, "baseline": baseline, "extra": prepare}',
            ),
        ),
        expected=(("edge__prepare__evaluate", 'TypedDict "EvalInputs" has no key "extra"'),),
    ),
    Case(
        "state_mismatch",
        before=(
            (
                "tasks.py",
                "class Train(Task[TaskContext[State, Deps, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset])",
                "class Train(Task[TaskContext[OtherState, Deps, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[OtherState, Deps, Dataset])",
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, Deps, Dataset]",
                    want="TaskContext[OtherState, Deps, Dataset]",
                ),
            ),
        ),
    ),
    Case(
        "deps_mismatch",
        before=(
            (
                "tasks.py",
                "class Train(Task[TaskContext[State, Deps, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset])",
                "class Train(Task[TaskContext[State, str, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[State, str, Dataset])",
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, Deps, Dataset]",
                    want="TaskContext[State, str, Dataset]",
                ),
            ),
        ),
    ),
    Case(
        "protocol_state_not_satisfied",
        before=(
            (
                "tasks.py",
                "Task[TaskContext[HasTemperature, Any, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[HasTemperature, Any, Dataset]) -> Model:\n        return Model((ctx.state.temperature,))",
                "Task[TaskContext[HasPressure, Any, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[HasPressure, Any, Dataset]) -> Model:\n        return Model((ctx.state.pressure,))",
            ),
        ),
        expected=(
            (
                "edge__prepare__baseline",
                _CTX_ACCEPT.format(
                    task="Baseline",
                    ctx="TaskContext[State, Deps, Dataset]",
                    want="TaskContext[HasPressure, Any, Dataset]",
                ),
            ),
        ),
    ),
    Case(
        "root_state_mismatch",
        before=(
            (
                "tasks.py",
                "class Prepare(Task[TaskContext[State, Deps, None], Dataset]):\n    async def execute(self, ctx: TaskContext[State, Deps, None])",
                "class Prepare(Task[TaskContext[OtherState, Deps, None], Dataset]):\n    async def execute(self, ctx: TaskContext[OtherState, Deps, None])",
            ),
        ),
        expected=(
            (
                "edge__input__prepare",
                _CTX_ACCEPT.format(
                    task="Prepare",
                    ctx="TaskContext[State, Deps, None]",
                    want="TaskContext[OtherState, Deps, None]",
                ),
            ),
        ),
    ),
    Case(
        "root_input_mismatch",  # the task wants an int, the workflow declares no input
        before=(
            (
                "tasks.py",
                "class Prepare(Task[TaskContext[State, Deps, None], Dataset]):\n    async def execute(self, ctx: TaskContext[State, Deps, None])",
                "class Prepare(Task[TaskContext[State, Deps, int], Dataset]):\n    async def execute(self, ctx: TaskContext[State, Deps, int])",
            ),
        ),
        expected=(
            (
                "edge__input__prepare",
                _CTX_ACCEPT.format(
                    task="Prepare",
                    ctx="TaskContext[State, Deps, None]",
                    want="TaskContext[State, Deps, int]",
                ),
            ),
        ),
    ),
    Case(
        "optional_output_into_required_input",  # two edges break, one error each
        before=(
            (
                "tasks.py",
                "Dataset]):\n    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Dataset:",
                "Dataset | None]):\n    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Dataset | None:",
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, Deps, Dataset | None]",
                    want="TaskContext[State, Deps, Dataset]",
                ),
            ),
            (
                "edge__prepare__baseline",
                _CTX_ACCEPT.format(
                    task="Baseline",
                    ctx="TaskContext[State, Deps, Dataset | None]",
                    want="TaskContext[HasTemperature, Any, Dataset]",
                ),
            ),
        ),
    ),
    Case(
        "workflow_without_deps",  # every task asking for Deps breaks; Baseline takes Any
        before=(
            (
                "workflow.py",
                'Workflow("negative", state=State, deps=Deps)',
                'Workflow("negative", state=State)',
            ),
        ),
        pyright_also=("workflow.py",),
        expected=(
            (
                "edge__input__prepare",
                _CTX_ACCEPT.format(
                    task="Prepare",
                    ctx="TaskContext[State, None, None]",
                    want="TaskContext[State, Deps, None]",
                ),
            ),
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, None, Dataset]",
                    want="TaskContext[State, Deps, Dataset]",
                ),
            ),
            (
                "fan_in__evaluate",
                _CTX_ACCEPT.format(
                    task="Evaluate",
                    ctx="TaskContext[State, None, EvalInputs]",
                    want="TaskContext[State, Deps, EvalInputs]",
                ),
            ),
        ),
    ),
    Case(
        "stale_module_upstream_output_changed",  # Prepare now returns Frames; not regenerated
        after=(
            (
                "tasks.py",
                "Dataset]):\n    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Dataset:\n        return Dataset((1.0, 2.0))",
                "Frames]):\n    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Frames:\n        return Frames(2)",
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                'Argument 1 has incompatible type "Frames"; expected "Dataset"',
            ),
            (
                "edge__prepare__baseline",
                'Argument 1 has incompatible type "Frames"; expected "Dataset"',
            ),
        ),
    ),
    Case(
        "stale_module_fan_in_output_changed",  # Train now returns a Report; not regenerated
        after=(
            (
                "tasks.py",
                "Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset]) -> Model:\n        return Model(ctx.inputs.values)",
                "Report]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset]) -> Report:\n        return Report(0.0)",
            ),
        ),
        expected=(
            (
                "edge__train__evaluate",
                'Argument 1 has incompatible type "Report"; expected "Model"',
            ),
        ),
    ),
    Case(
        "task_declares_another_tasks_context",  # Train takes Evaluate's keyed inputs
        before=(
            (
                "tasks.py",
                "from molexp import Task, TaskContext\n",
                "from molexp import Task, TaskContext\n\nfrom PKG.workflow_contexts import EvaluateContext\n",
            ),
            (
                "tasks.py",
                "class Train(Task[TaskContext[State, Deps, Dataset], Model]):\n    async def execute(self, ctx: TaskContext[State, Deps, Dataset]) -> Model:\n        return Model(ctx.inputs.values)",
                'class Train(Task[EvaluateContext, Model]):\n    async def execute(self, ctx: EvaluateContext) -> Model:\n        return Model(ctx.inputs["train"].weights)',
            ),
        ),
        expected=(
            (
                "edge__prepare__train",
                _CTX_ACCEPT.format(
                    task="Train",
                    ctx="TaskContext[State, Deps, Dataset]",
                    want="TaskContext[State, Deps, EvalInputs]",
                ),
            ),
        ),
    ),
    Case(
        "generic_value_mismatch",  # list[Model] where the task asks for list[Dataset]
        before=(
            (
                "tasks.py",
                "class Evaluate(Task[TaskContext[State, Deps, EvalInputs], Report]):",
                (
                    "class Many(Task[TaskContext[State, Deps, None], list[Model]]):\n    async def execute(self, ctx: TaskContext[State, Deps, None]) -> list[Model]:\n        return []\n\n\n"
                    "class Count(Task[TaskContext[State, Deps, list[Dataset]], int]):\n    async def execute(self, ctx: TaskContext[State, Deps, list[Dataset]]) -> int:\n        return len(ctx.inputs)\n\n\n"
                    "class Evaluate(Task[TaskContext[State, Deps, EvalInputs], Report]):"
                ),
            ),
            (
                "workflow.py",
                "from PKG.tasks import Baseline, Evaluate, Prepare, Train",
                "from PKG.tasks import Baseline, Count, Evaluate, Many, Prepare, Train",
            ),
            (
                "workflow.py",
                "evaluate = wf.add(",
                "count = wf.add(Count(), after=wf.add(Many()))\nevaluate = wf.add(",
            ),
        ),
        expected=(
            (
                "edge__many__count",
                _CTX_ACCEPT.format(
                    task="Count",
                    ctx="TaskContext[State, Deps, list[Model]]",
                    want="TaskContext[State, Deps, list[Dataset]]",
                ),
            ),
        ),
    ),
    Case(
        "channel_wrong_message_type",  # the writer only takes frames; the monitor sends stats
        base="actors",
        before=(
            (
                "tasks.py",
                "class Writer(Actor[WriterContext, str]):\n    async def run(self, ctx: WriterContext) -> AsyncIterator[str]:\n        async for stats in ctx.messages():\n            yield str(stats.frames)",
                "class Writer(Actor[ActorContext[State, Deps, None, Frame, Never], str]):\n    async def run(self, ctx: ActorContext[State, Deps, None, Frame, Never]) -> AsyncIterator[str]:\n        async for frame in ctx.messages():\n            yield str(frame.step)",
            ),
        ),
        expected=(("channel__monitor__writer", _ARG.format(got="Stats", want="Frame")),),
    ),
    Case(
        "channel_union_not_accepted",  # frames and readings merge; the monitor takes frames only
        base="actors",
        before=(
            (
                "tasks.py",
                "class Monitor(Actor[MonitorContext[Stats], Stats]):\n    async def run(self, ctx: MonitorContext[Stats])",
                "class Monitor(Actor[ActorContext[State, Deps, None, Frame, Stats], Stats]):\n    async def run(self, ctx: ActorContext[State, Deps, None, Frame, Stats])",
            ),
        ),
        expected=(("channel__thermostat__monitor", _ARG.format(got="Reading", want="Frame")),),
    ),
    Case(
        "channel_into_actor_receiving_nothing",  # the writer declares it receives Never
        base="actors",
        before=(
            (
                "tasks.py",
                "class Writer(Actor[WriterContext, str]):\n    async def run(self, ctx: WriterContext) -> AsyncIterator[str]:\n        async for stats in ctx.messages():\n            yield str(stats.frames)",
                "class Writer(Actor[ActorContext[State, Deps, None, Never, Never], str]):\n    async def run(self, ctx: ActorContext[State, Deps, None, Never, Never]) -> AsyncIterator[str]:\n        yield str(ctx.inputs)",
            ),
        ),
        expected=(("channel__monitor__writer", _ARG.format(got="Stats", want="Never")),),
    ),
    Case(
        "actor_to_task_yield_mismatch",  # the check wants a frame; the monitor yields stats
        base="actors",
        after=(
            (
                "tasks.py",
                "class Check(Task[CheckContext, int]):\n    async def execute(self, ctx: CheckContext) -> int:\n        return ctx.inputs.frames",
                "class Check(Task[TaskContext[State, Deps, Frame], int]):\n    async def execute(self, ctx: TaskContext[State, Deps, Frame]) -> int:\n        return ctx.inputs.step",
            ),
        ),
        expected=(
            (
                "edge__monitor__check",
                _CTX_ACCEPT.format(
                    task="Check",
                    ctx="TaskContext[State, Deps, Stats]",
                    want="TaskContext[State, Deps, Frame]",
                ),
            ),
        ),
    ),
    Case(
        "task_to_actor_input_mismatch",  # the sampler wants an int; setup returns Settings
        base="actors",
        before=(
            (
                "tasks.py",
                "class Sampler(Actor[SamplerContext[Frame], int]):\n    async def run(self, ctx: SamplerContext[Frame]) -> AsyncIterator[int]:\n        for step in range(ctx.inputs.steps):",
                "class Sampler(Actor[ActorContext[State, Deps, int, Never, Frame], int]):\n    async def run(self, ctx: ActorContext[State, Deps, int, Never, Frame]) -> AsyncIterator[int]:\n        for step in range(ctx.inputs):",
            ),
            ("tasks.py", "        yield ctx.inputs.steps", "        yield ctx.inputs"),
        ),
        expected=(
            (
                "edge__setup__sampler",
                _ARG.format(
                    got="ActorContext[State, Deps, Settings, Never, Never]",
                    want="TaskContext[State, Deps, int]",
                ),
            ),
        ),
    ),
    Case(
        "root_actor_state_mismatch",
        base="actors",
        before=(
            (
                "tasks.py",
                "class Thermostat(Actor[ThermostatContext[Reading], float]):\n    async def run(self, ctx: ThermostatContext[Reading])",
                "class Thermostat(Actor[ActorContext[OtherState, Deps, None, Never, Reading], float]):\n    async def run(self, ctx: ActorContext[OtherState, Deps, None, Never, Reading])",
            ),
        ),
        expected=(
            (
                "edge__input__thermostat",
                _ARG.format(
                    got="ActorContext[State, Deps, None, Never, Never]",
                    want="TaskContext[OtherState, Deps, None]",
                ),
            ),
        ),
    ),
    Case(
        "stale_module_channel_send_type_changed",  # the sampler now sends stats; not regenerated
        base="actors",
        after=(
            (
                "tasks.py",
                "class Sampler(Actor[SamplerContext[Frame], int]):\n    async def run(self, ctx: SamplerContext[Frame]) -> AsyncIterator[int]:\n        for step in range(ctx.inputs.steps):\n            await ctx.send(Frame(step))",
                "class Sampler(Actor[SamplerContext[Stats], int]):\n    async def run(self, ctx: SamplerContext[Stats]) -> AsyncIterator[int]:\n        for step in range(ctx.inputs.steps):\n            await ctx.send(Stats(step))",
            ),
        ),
        expected=(("channel__sampler__monitor", _ARG.format(got="Stats", want="Frame | Reading")),),
    ),
    Case(
        "stale_module_actor_yield_changed",  # the monitor now yields frame counts; not regenerated
        base="actors",
        after=(
            (
                "tasks.py",
                "class Monitor(Actor[MonitorContext[Stats], Stats]):\n    async def run(self, ctx: MonitorContext[Stats]) -> AsyncIterator[Stats]:",
                "class Monitor(Actor[MonitorContext[Stats], int]):\n    async def run(self, ctx: MonitorContext[Stats]) -> AsyncIterator[int]:",
            ),
            ("tasks.py", "        yield Stats(frames)", "        yield frames"),
        ),
        expected=(("edge__monitor__check", _ARG.format(got="int", want="Stats")),),
    ),
    Case(
        "map_wrong_element_type",  # the mapped task now takes a Molecule; not regenerated
        base="maps",
        after=(
            (
                "tasks.py",
                "class Relax(Task[RelaxContext, Relaxed]):\n    async def execute(self, ctx: RelaxContext) -> Relaxed:\n        return Relaxed(float(ctx.inputs.n))",
                "class Relax(Task[TaskContext[State, None, Molecule], Relaxed]):\n    async def execute(self, ctx: TaskContext[State, None, Molecule]) -> Relaxed:\n        return Relaxed(float(len(ctx.inputs.name)))",
            ),
        ),
        expected=(
            (
                "map__generate__relax",
                _CTX_ACCEPT.format(
                    task="Relax",
                    ctx="TaskContext[State, None, Structure]",
                    want="TaskContext[State, None, Molecule]",
                ),
            ),
        ),
    ),
    Case(
        "map_over_a_non_sequence",  # generate now returns one structure; not regenerated
        base="maps",
        after=(
            (
                "tasks.py",
                "class Generate(Task[TaskContext[State, None, None], list[Structure]]):\n    async def execute(self, ctx: TaskContext[State, None, None]) -> list[Structure]:\n        return [Structure(n) for n in range(3)]",
                "class Generate(Task[TaskContext[State, None, None], Structure]):\n    async def execute(self, ctx: TaskContext[State, None, None]) -> Structure:\n        return Structure(3)",
            ),
        ),
        expected=(
            ("map__generate__relax", "Sequence[Structure]"),  # mypy: in _output's context
        ),
        also=("workflow.py",),  # wf.map(..., over=generate) wants a Node[Sequence[...]]
    ),
    Case(
        "sub_workflow_wrong_inner_input",  # the inner workflow now takes a Structure
        base="maps",
        after=(
            (
                "inner.py",
                'class Polish(Task[TaskContext[State, None, Relaxed], Polished]):\n    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Polished:\n        return Polished(ctx.inputs.energy)\n\n\ninner = Workflow("refine", state=State, input=Relaxed)',
                'class Polish(Task[TaskContext[State, None, Structure], Polished]):\n    async def execute(self, ctx: TaskContext[State, None, Structure]) -> Polished:\n        return Polished(float(ctx.inputs.n))\n\n\ninner = Workflow("refine", state=State, input=Structure)',
            ),
        ),
        expected=(
            (
                "map__relax__refine",
                _CTX_ACCEPT.format(
                    task="SubWorkflow",
                    ctx="TaskContext[State, None, Relaxed]",
                    want="TaskContext[State, Any, Structure]",  # the inner declares no deps
                ),
            ),
        ),
    ),
    Case(
        "sub_workflow_wrong_output_type",  # the inner output node now gives a Relaxed
        base="maps",
        after=(
            (
                "inner.py",
                "class Polish(Task[TaskContext[State, None, Relaxed], Polished]):\n    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Polished:\n        return Polished(ctx.inputs.energy)",
                "class Polish(Task[TaskContext[State, None, Relaxed], Relaxed]):\n    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Relaxed:\n        return ctx.inputs",
            ),
        ),
        expected=(("edge__refine__summary", '"Relaxed"; expected "Polished"'),),
    ),
    Case(
        "sub_workflow_state_mismatch",  # the inner workflow now runs on another state
        base="maps",
        after=(
            (
                "inner.py",
                'class Polish(Task[TaskContext[State, None, Relaxed], Polished]):\n    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Polished:\n        return Polished(ctx.inputs.energy)\n\n\ninner = Workflow("refine", state=State, input=Relaxed)',
                'class Polish(Task[TaskContext[OtherState, None, Relaxed], Polished]):\n    async def execute(self, ctx: TaskContext[OtherState, None, Relaxed]) -> Polished:\n        return Polished(ctx.inputs.energy)\n\n\ninner = Workflow("refine", state=OtherState, input=Relaxed)',
            ),
        ),
        expected=(
            (
                "map__relax__refine",
                _CTX_ACCEPT.format(
                    task="SubWorkflow",
                    ctx="TaskContext[State, None, Relaxed]",
                    want="TaskContext[OtherState, Any, Relaxed]",
                ),
            ),
        ),
    ),
]

_EDGE_DEF = re.compile(r"^    async def (?P<name>(?:edge|fan_in|channel|map)__\w+)\(")


def _patch(folder: Path, patches: tuple[Patch, ...], package: str) -> None:
    for file, old, new in patches:
        path = folder / file
        text = path.read_text()
        old, new = old.replace("PKG", package), new.replace("PKG", package)
        assert old in text, f"patch does not apply to {file}: {old!r}"
        path.write_text(text.replace(old, new, 1))


def _owner(generated: Path, line: int) -> str | None:
    owner = None
    for number, text in enumerate(generated.read_text().splitlines(), start=1):
        match = _EDGE_DEF.match(text)
        if match and number <= line:
            owner = match["name"]
    return owner


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case as a package ``neg_<name>`` (plus the unbroken base), generated."""
    from molexp_codegen.api import plan, write

    root = tmp_path_factory.mktemp("negative")
    for case in [*BASE_CASES, *CASES]:
        package = f"neg_{case.name}"
        folder = root / package
        folder.mkdir()
        for file, text in BASES[case.base].items():
            (folder / file).write_text(text.replace("PKG", package))
        _patch(folder, case.before, package)
        write(plan(str(folder / "workflow.py")))
        _patch(folder, case.after, package)
    return root


def _by_case(root: Path, errors: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for error in errors:
        grouped.setdefault(error.file.relative_to(root).parts[0][len("neg_") :], []).append(error)
    return grouped


BASE_CASES = [
    Case("base", expected=()),
    Case("actor_base", expected=(), base="actors"),
    Case("map_base", expected=(), base="maps"),
]


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 12
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def mypy_errors(corpus: Path) -> dict[str, list[Diagnostic]]:
    packages = sorted(p for p in corpus.iterdir() if p.name.startswith("neg_"))
    return _by_case(corpus, run_mypy(packages, cwd=corpus))


@pytest.mark.parametrize("base", [c.name for c in BASE_CASES])
def test_base_case_is_clean(mypy_errors: dict[str, list[Diagnostic]], base: str) -> None:
    assert mypy_errors.get(base, []) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_mypy_reports_one_error_per_broken_edge(
    corpus: Path, mypy_errors: dict[str, list[Diagnostic]], case: Case
) -> None:
    generated = corpus / f"neg_{case.name}" / "workflow_edges.py"
    also = {(generated.parent / name).resolve() for name in case.also} - {generated.resolve()}
    errors = [e for e in mypy_errors.get(case.name, []) if e.file not in also]
    assert also <= {e.file for e in mypy_errors.get(case.name, [])}, mypy_errors.get(case.name)
    found = sorted(((_owner(generated, e.line) or str(e.file)), e.message) for e in errors)
    assert all(e.file == generated.resolve() for e in errors), found
    assert len(found) == len(case.expected), found
    for (owner, message), (want_owner, fragment) in zip(found, sorted(case.expected), strict=True):
        assert owner == want_owner, found
        assert fragment in message, (message, fragment)


@pytest.fixture(scope="module")
def pyright_errors(corpus: Path) -> dict[str, list[Diagnostic]]:
    packages = sorted(p for p in corpus.iterdir() if p.name.startswith("neg_"))
    return _by_case(corpus, run_pyright(packages, cwd=corpus, extra_paths=[corpus]))


@pytest.mark.parametrize("case", [*BASE_CASES, *CASES], ids=lambda c: c.name)
def test_basedpyright_reports_one_error_per_broken_edge(
    corpus: Path, pyright_errors: dict[str, list[Diagnostic]], case: Case
) -> None:
    generated = corpus / f"neg_{case.name}" / "workflow_edges.py"
    also = {(generated.parent / name).resolve() for name in case.pyright_also + case.also}
    also -= {generated.resolve()}
    errors = [e for e in pyright_errors.get(case.name, []) if e.file not in also]
    assert also <= {e.file for e in pyright_errors.get(case.name, [])}, pyright_errors.get(
        case.name
    )
    assert all(e.file == generated.resolve() for e in errors), errors
    owners = sorted(_owner(generated, e.line) or "?" for e in errors)
    assert owners == sorted(owner for owner, _ in case.expected), errors
    # A value that does not fit is reportArgumentType; a key the TypedDict lacks is
    # reportGeneralTypeIssues ("... is not a defined key").
    assert all(
        "reportArgumentType" in e.message or "is not a defined key" in e.message for e in errors
    ), errors


@pytest.mark.parametrize(
    ("case", "edge", "words"),
    [
        (
            "state_mismatch",
            "edge__prepare__train",
            "'prepare' (Prepare) gives Dataset -> task 'train' (Train), which takes Dataset",
        ),
        ("channel_union_not_accepted", "channel__thermostat__monitor", ""),
    ],
)
def test_molexp_check_names_the_edge(
    corpus: Path, tmp_path: Path, case: str, edge: str, words: str
) -> None:
    """``molexp check`` tags a mypy error in the generated module with its check function
    and prints the edge in words under it: upstream, key, downstream and both types."""
    from codegen_helpers import molexp

    package = tmp_path / f"neg_{case}"
    shutil.copytree(corpus / f"neg_{case}", package, ignore=shutil.ignore_patterns("__pycache__"))
    proc = molexp("check", f"neg_{case}/workflow.py", "--mypy-arg=--strict", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "is up to date" in proc.stdout
    assert f"[in {edge}]" in proc.stdout, proc.stdout
    if words:
        assert f"[in {edge}]\n    edge: {words}" in proc.stdout, proc.stdout
