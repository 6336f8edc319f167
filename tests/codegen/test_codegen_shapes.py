"""One task class on many nodes: one shared context, one check per distinct edge, and a
clear error when nodes of a class written against a generated context disagree."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from molexp import Task, TaskContext, Workflow
from molexp_codegen.build import build_module
from molexp_codegen.errors import CodegenError
from molexp_codegen.loader import _Placeholder
from molexp_codegen.render import render_checks, render_module

_generated = _Placeholder("shapes_contexts")


@attrs.frozen
class Structure:
    atoms: int


@attrs.frozen
class Molecule:
    name: str


class MakeStructure(Task[TaskContext[None, None, None], Structure]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Structure:
        return Structure(1)


class MakeMolecule(Task[TaskContext[None, None, None], Molecule]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Molecule:
        return Molecule("h2")


class Relax(Task[_generated.RelaxContext, float]):  # type: ignore[name-defined]
    async def execute(self, ctx: Any) -> float:
        return 0.0


def _scan(count: int) -> tuple[str, str]:
    wf = Workflow("scan")
    build = wf.add(MakeStructure())
    for i in range(count):
        wf.add(Relax(), after=build, name=f"relax_{i}")
    spec, _ = build_module([wf], source="scan.py")
    return render_module(spec, "scan_edges"), render_checks(spec, "scan_contexts")


def test_nodes_of_one_class_share_one_context_and_one_check() -> None:
    contexts, checks = _scan(40)
    assert contexts.count('TaskContext[None, None, "Structure"]') == 1
    assert "RelaxContext: TypeAlias = TaskContext" in contexts
    assert "Relax0Context: TypeAlias = RelaxContext" in contexts  # the first node's own name
    assert checks.count("async def edge__make_structure__relax_") == 1
    assert "# Also proves 39 edges of the same types: make_structure -> relax_1" in checks
    _, small_checks = _scan(4)
    assert len(checks.splitlines()) == len(small_checks.splitlines())  # not one per node


def test_nodes_of_a_class_on_a_generated_context_must_agree() -> None:
    wf = Workflow("mixed")
    structure = wf.add(MakeStructure())
    molecule = wf.add(MakeMolecule())
    wf.add(Relax(), after=structure, name="relax_a")
    wf.add(Relax(), after=molecule, name="relax_b")
    with pytest.raises(CodegenError) as err:
        build_module([wf], source="mixed.py")
    message = str(err.value)
    assert "task class Relax is placed on 2 nodes whose inputs disagree" in message
    assert "'relax_a' receives Structure" in message and "'relax_b' receives Molecule" in message
    assert "Declare a common input" in message
