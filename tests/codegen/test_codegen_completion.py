"""IDE completion through jedi (the engine behind many editors) on generated contexts.

Also pins the measurement behind the fan-in design (docs/codegen.md): jedi completes the
attributes of a plain TypedDict value but not of a ``ReadOnly[...]`` one, which is why the
generated fan-in mappings use plain items.
"""

from __future__ import annotations

from pathlib import Path

import jedi
from codegen_helpers import REPO


def _complete(generated: Path, module: str, source: str) -> set[str]:
    cases = generated / "cases"
    project = jedi.Project(str(cases), added_sys_path=[str(REPO), str(cases)])
    script = jedi.Script(source, path=str(cases / module / "probe.py"), project=project)
    lines = source.splitlines()
    return {c.name for c in script.complete(len(lines), len(lines[-1]))}


def test_single_input_completes_upstream_attributes(generated: Path) -> None:
    source = (
        "from cg_chain.workflow_contexts import SimulateContext\n"
        "async def execute(ctx: SimulateContext) -> None:\n"
        "    ctx.inputs."
    )
    assert "symbols" in _complete(generated, "cg_chain", source)


def test_context_completes_state_and_deps(generated: Path) -> None:
    source = (
        "from cg_chain.workflow_contexts import AnalyzeContext\n"
        "def f(ctx: AnalyzeContext) -> None:\n"
        "    ctx.deps."
    )
    assert "engine" in _complete(generated, "cg_chain", source)


def test_fan_in_keys_complete(generated: Path) -> None:
    source = (
        "from cg_fan_in3.workflow_contexts import SummarizeContext\n"
        "def f(ctx: SummarizeContext) -> None:\n"
        "    ctx.inputs['"
    )
    assert {"'energy'", "'frames'", "'meta'"} <= _complete(generated, "cg_fan_in3", source)


def test_fan_in_values_complete_their_attributes(generated: Path) -> None:
    source = (
        "from cg_same_name.workflow_contexts import CompareContext\n"
        "def f(ctx: CompareContext) -> None:\n"
        "    ctx.inputs['sim']."
    )
    assert "step" in _complete(generated, "cg_same_name", source)
    source = source.replace("['sim'].", "['pic'].")
    assert "width" in _complete(generated, "cg_same_name", source)


def test_jedi_does_not_complete_readonly_typeddict_values(tmp_path: Path) -> None:
    """The measured reason the generated TypedDicts do not use ``ReadOnly`` items."""
    (tmp_path / "probe_models.py").write_text(
        "from typing_extensions import ReadOnly, TypedDict\n"
        "class Model:\n    weights: int = 0\n"
        "class Plain(TypedDict):\n    train: Model\n"
        "class Frozen(TypedDict):\n    train: ReadOnly[Model]\n"
    )
    project = jedi.Project(str(tmp_path))

    def names(cls: str) -> set[str]:
        source = f"from probe_models import {cls}\ndef f(x: {cls}) -> None:\n    x['train']."
        script = jedi.Script(source, path=str(tmp_path / "probe.py"), project=project)
        return {c.name for c in script.complete(3, len("    x['train']."))}

    assert "weights" in names("Plain")
    assert "weights" not in names("Frozen")


def test_actor_inputs_and_received_messages_complete(generated: Path) -> None:
    source = (
        "from cg_actors.workflow_contexts import SamplerContext, WriterContext\n"
        "from cg_actors.models import Frame\n"
        "async def run(ctx: SamplerContext[Frame], sink: WriterContext) -> None:\n"
        "    ctx.inputs."
    )
    assert "temperature" in _complete(generated, "cg_actors", source)
    received = source.replace("    ctx.inputs.", "    (await sink.receive()).")
    assert {"frames", "mean_potential"} <= _complete(generated, "cg_actors", received)
