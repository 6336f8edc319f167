"""Actor contexts: message types read from the declarations, merged per channel, and the
generated contexts used by the runtime."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ForwardRef, Never

import attrs
from codegen_helpers import subprocess_env

from molexp import Actor, ActorContext, Workflow
from molexp.context import SendT
from molexp.workflow.introspect import context_class, declared_message_types
from molexp_codegen.build import build_module
from molexp_codegen.loader import _Placeholder
from molexp_codegen.render import render_module


@attrs.frozen
class Frame:
    step: int


@attrs.frozen
class Reading:
    temperature: float


class SendsFrames(Actor[ActorContext[None, None, None, Never, Frame], int]):
    async def run(self, ctx: ActorContext[None, None, None, Never, Frame]) -> AsyncIterator[int]:
        yield 0


class SendsEither(Actor[ActorContext[None, None, None, Never, Frame | Reading], int]):
    async def run(
        self, ctx: ActorContext[None, None, None, Never, Frame | Reading]
    ) -> AsyncIterator[int]:
        yield 0


class SendsOptional(Actor[ActorContext[None, None, None, Never, Reading | None], int]):
    async def run(
        self, ctx: ActorContext[None, None, None, Never, Reading | None]
    ) -> AsyncIterator[int]:
        yield 0


class SendsNothing(Actor[ActorContext[None, None, None, Never, Never], int]):
    async def run(self, ctx: ActorContext[None, None, None, Never, Never]) -> AsyncIterator[int]:
        yield 0


class Undeclared(Actor):
    async def run(self, ctx):  # type: ignore[no-untyped-def]
        yield 0


class Sink(Actor[ActorContext[None, None, None, object, Never], int]):
    async def run(self, ctx: ActorContext[None, None, None, object, Never]) -> AsyncIterator[int]:
        yield 0


def _generate(*senders: Actor[Any, Any]) -> tuple[str, list[str]]:
    wf = Workflow("merge")
    nodes = [wf.add(s, name=f"s{i}") for i, s in enumerate(senders)]
    wf.add(Sink(), after=nodes)
    spec, warnings = build_module([wf], source="merge.py")
    return render_module(spec), warnings


def _receives(text: str, context: str = "SinkContext") -> str:
    match = re.search(rf"^{context}: TypeAlias = ActorContext\[(.*)\]$", text, re.M)
    assert match, text
    return match[1].split(", ")[3]


def test_merged_channels_receive_a_deduplicated_union_in_channel_order() -> None:
    text, warnings = _generate(SendsOptional(), SendsFrames(), SendsEither(), SendsNothing())
    assert _receives(text) == '"Reading | Frame | None"'  # None last; Never drops out
    assert "- ``s3`` (SendsNothing) sends ``Never``" in text
    assert warnings == []


def test_an_actor_without_upstream_actor_receives_never() -> None:
    text, _ = _generate(SendsFrames())
    assert _receives(text, "S0Context") == '"Never"'
    assert "``receive()`` returns ``Never``: no upstream actor sends to it" in text


def test_an_undeclared_send_type_gives_object_with_a_warning() -> None:
    text, warnings = _generate(SendsFrames(), Undeclared())
    assert _receives(text) == '"object"'
    assert any("actor 's1' (Undeclared) declares no send type" in w for w in warnings), warnings
    assert any("run() declares no return type" in w for w in warnings), warnings


def test_message_types_of_a_generic_generated_context() -> None:
    class Generated(ActorContext[None, None, None, "Frame", SendT]):  # type: ignore[type-arg]
        __slots__ = ()

    class Typed(Actor[Generated[Reading], int]):  # type: ignore[type-arg]
        async def run(self, ctx: Generated[Reading]) -> AsyncIterator[int]:  # type: ignore[type-arg]
            yield 0

    class Bare(Actor[Generated, int]):
        async def run(self, ctx: Generated) -> AsyncIterator[int]:
            yield 0

    assert declared_message_types(Typed()) == (ForwardRef("Frame"), Reading)
    assert declared_message_types(Bare()) == (ForwardRef("Frame"), Never)
    assert context_class(Typed()) is Generated  # what the runtime instantiates


def test_message_types_of_the_placeholder_and_of_the_stub_stand_in() -> None:
    placeholder = _Placeholder("not_generated_yet")
    stand_in = ActorContext[Any, Any, Any, Any, SendT]  # type: ignore[valid-type]

    class OnPlaceholder(Actor[placeholder.MonitorContext[Frame], int]):  # type: ignore[name-defined]
        async def run(self, ctx: Any) -> AsyncIterator[int]:
            yield 0

    class OnStandIn(Actor[stand_in[Frame], int]):  # type: ignore[misc]
        async def run(self, ctx: Any) -> AsyncIterator[int]:
            yield 0

    class BareStandIn(Actor[stand_in, int]):  # type: ignore[misc]
        async def run(self, ctx: Any) -> AsyncIterator[int]:
            yield 0

    assert declared_message_types(OnPlaceholder())[1] is Frame
    assert declared_message_types(OnStandIn())[1] is Frame
    assert declared_message_types(BareStandIn())[1] is Never


_RUN = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from cg_actors import workflow_contexts as generated
from cg_actors.models import Deps, State
from cg_actors.workflow import report, wf
from molexp import WorkflowRuntime
from molexp.runtime.plan import plan_for

state = State()
result = asyncio.run(WorkflowRuntime(channel_capacity=4).execute(
    wf, inputs=20, state=state, deps=Deps("lammps")))
result.raise_for_status()
print(json.dumps({
    "built": sorted(state.contexts),
    "planned": {i: c.__qualname__ for i, c in zip(plan_for(wf).ids, plan_for(wf).context_classes)},
    "aliases": sorted(n for n in generated.__all__ if n.endswith("Context")),
    "report": result.output(report).text,
    "sent": result.sent,
    "yields": result.yields,
}))
"""


def test_the_runtime_instantiates_what_the_generated_aliases_denote(generated: Path) -> None:
    """A generated context is an alias of ``ActorContext[...]``/``TaskContext[...]``: the
    runtime builds that class (no per-task subclass), and the actors run through it."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(generated / "cases")],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["built"] == ["ActorContext"] * 4  # type(ctx) inside each actor's run
    assert seen["planned"] == {
        "setup": "TaskContext",
        "sampler": "ActorContext",
        "thermostat": "ActorContext",
        "monitor": "ActorContext",
        "writer": "ActorContext",
        "report": "TaskContext",
    }
    assert seen["aliases"] == [
        "MonitorContext",
        "ReportContext",
        "SamplerContext",
        "SetupContext",
        "ThermostatContext",
        "WriterContext",
    ]
    assert seen["sent"] == {"sampler": 20, "thermostat": 4, "monitor": 2, "writer": 0}
    assert seen["yields"] == {"sampler": 1, "thermostat": 1, "monitor": 1, "writer": 2}
    assert seen["report"] == "lammps T=300.0: 20 frames / <U> = 4.75"


def test_placeholder_contexts_are_generic_actor_contexts() -> None:
    """A task module importing a context before generation gets a class it can subscript."""
    cls = _Placeholder("not_generated_yet").AnyContext
    assert issubclass(cls, ActorContext)
    assert cls[Frame].__origin__ is cls
