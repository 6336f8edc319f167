"""Hostile user strings never become code in a generated module.

A workflow name, a class name, a module name or a Literal value reaches the generated text;
each is escaped (free text in docstrings and comments, string constants) or refused
(anything written as an identifier or an import), and the text is compiled before it is
handed out. The checks below import the generated module: a payload that escaped its
docstring would run, and the sentinel file would appear.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from codegen_helpers import molexp

from molexp_codegen.api import plan, write
from molexp_codegen.errors import TypeRenderError
from molexp_codegen.render import doc_text

PAYLOADS = {
    "triple_quote": 'x"""; __import__("pathlib").Path(SENTINEL).write_text("pwned"); """',
    "newline": 'x\n__import__("pathlib").Path(SENTINEL).write_text("pwned")\n',
    "carriage_return": 'x\r__import__("pathlib").Path(SENTINEL).write_text("pwned")\r',
    "backslash_quote": 'x\\"""; __import__("pathlib").Path(SENTINEL).write_text("pwned") #',
    "nul": "x\x00y",
    "rtl_override": "safe\u202e\u2066evil\u2069",
    "zero_width": "a\u200bb\u200dc\ufeff",
    "line_separator": "a\u2028b\u2029c\x85d",
    "very_long": "w" * 5000,
}

_MODELS = """
import attrs

@attrs.frozen
class Dataset:
    values: tuple[float, ...]
"""

_WORKFLOW = """
from typing import Literal

from molexp import Task, TaskContext, Workflow

from {pkg}.models import Dataset

NAME = {name!r}


class Prepare(Task[TaskContext[None, None, None], Dataset]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Dataset:
        return Dataset((1.0,))


class Label(Task[TaskContext[None, None, Dataset], Literal[{literal!r}]]):
    async def execute(self, ctx: TaskContext[None, None, Dataset]) -> Literal[{literal!r}]:
        return {literal!r}


class Join(Task):
    async def execute(self, ctx: TaskContext) -> None:
        return None


wf = Workflow(NAME)
prepare = wf.add(Prepare())
label = wf.add(Label(), after=prepare)
join = wf.add(Join(), after={{"data": prepare, "label": label}})
"""


def _package(root: Path, pkg: str, name: str, literal: str) -> Path:
    folder = root / pkg
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "models.py").write_text(_MODELS)
    source = _WORKFLOW.format(pkg=pkg, name=name, literal=literal)
    sentinel = root / "pwned.txt"
    source = source.replace("NAME = ", f"SENTINEL = {str(sentinel)!r}\nNAME = ", 1)
    (folder / "workflow.py").write_text(source)
    return folder / "workflow.py"


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_hostile_workflow_names_and_literals_stay_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: str
) -> None:
    text = PAYLOADS[payload].replace("SENTINEL", repr(str(tmp_path / "pwned.txt")))
    pkg = f"hostile_{payload}"
    monkeypatch.syspath_prepend(str(tmp_path))
    workflow = _package(tmp_path, pkg, text, text)
    artifact = plan(str(workflow))
    write(artifact)
    generated = artifact.path.read_text(encoding="utf-8")
    tree = ast.parse(generated)
    # Only imports, assignments, class and function definitions, the TYPE_CHECKING block and
    # the docstrings of the context aliases (string constants) at module level: no
    # expression statement (a call) escaped from a docstring.
    kinds = {
        type(node).__name__
        for node in tree.body[1:]
        if not _is_docstring(node) and not _is_registration(node)
    }
    assert sum(_is_registration(node) for node in tree.body) == 1
    assert kinds <= {"ImportFrom", "Import", "Assign", "AnnAssign", "ClassDef", "If", "FunctionDef"}
    docs = {
        node.target.id: _docstring(tree.body[index + 1])
        for index, node in enumerate(tree.body[:-1])
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    for line in generated.splitlines():
        assert line.isprintable(), f"unescaped control or invisible character in {line!r}"
    module = importlib.import_module(f"{pkg}.workflow_contexts")
    try:
        assert not (tmp_path / "pwned.txt").exists()
        # The escapes are read back by Python: the docstring holds the name as it was given.
        assert module.LabelContext is not None
        assert f"in workflow ``{text}``" in docs["LabelContext"]
    finally:
        for name in [m for m in sys.modules if m.startswith(pkg)]:
            del sys.modules[name]


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_registration(node: ast.stmt) -> bool:
    """The one call a generated module makes: ``register_generated(__name__, "...", {...})``
    with constant arguments only (its wiring fingerprints)."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return False
    call = node.value
    return (
        isinstance(call.func, ast.Name)
        and call.func.id == "register_generated"
        and not call.keywords
        and len(call.args) == 3
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id == "__name__"
        and isinstance(call.args[1], ast.Constant)
        and isinstance(call.args[2], ast.Dict)
        and all(isinstance(v, ast.Constant) for v in [*call.args[2].keys, *call.args[2].values])
    )


def _docstring(node: ast.stmt) -> str:
    """The attribute docstring after an alias (the text Python reads back from it)."""
    assert _is_docstring(node), ast.dump(node)
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return str(node.value.value)


def test_the_escape_round_trips_through_a_literal() -> None:
    for text in PAYLOADS.values():
        escaped = doc_text(text)
        assert escaped.isprintable()
        assert '"' not in escaped.replace('\\"', "")
        assert ast.literal_eval(f'"""{escaped}"""') == text


def test_a_type_whose_name_is_not_an_identifier_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from molexp_codegen.typeexpr import convert

    module = type(sys)("hostile_types")
    evil = type("Evil", (), {"__module__": "hostile_types", "__qualname__": "Evil;import os"})
    module.__dict__["Evil;import os"] = evil
    monkeypatch.setitem(sys.modules, "hostile_types", module)
    with pytest.raises(TypeRenderError, match=r"is not a dotted Python identifier"):
        convert(evil, "task 'x'")
    bad_module = type("Thing", (), {"__module__": "os; import sys"})
    with pytest.raises(TypeRenderError, match=r"module 'os; import sys'"):
        convert(bad_module, "task 'x'")


def test_cli_with_a_hostile_name_exits_0_and_the_module_is_inert(tmp_path: Path) -> None:
    payload = PAYLOADS["triple_quote"].replace("SENTINEL", repr(str(tmp_path / "pwned.txt")))
    _package(tmp_path, "cli_hostile", payload, "ok")
    proc = molexp("gen", "cli_hostile/workflow.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    check = molexp("gen", "--check", "cli_hostile/workflow.py", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    run = molexp("graph", "cli_hostile/workflow.py", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    imported = subprocess.run(
        [sys.executable, "-c", "import cli_hostile.workflow_contexts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "pwned.txt").exists()
