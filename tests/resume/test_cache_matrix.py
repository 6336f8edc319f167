"""The cross-run cache's correctness matrix: zero false hits.

Each case runs a cached task in one run, changes one thing, runs it in a second run of the
same workspace and checks hit or miss. A hit must reuse the stored output (typed) without
running the body; any change to what the task computes from must miss.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from molexp.runtime import WorkflowRuntime
from molexp.workspace import Workspace

MODULE = """
from pathlib import Path

import attrs
import numpy as np

from molexp import Task, TaskContext, Workflow

CALLS = []
FACTOR = {factor}


@attrs.frozen
class Result:
    value: float
    label: str


def helper(x: float) -> float:
    return x {helper_op} 1.0


def _flatten(value):
    if isinstance(value, dict):
        return sum(_flatten(v) for v in value.values())
    if isinstance(value, np.ndarray):
        return float(value.sum())
    if isinstance(value, Path):
        return float(sum(value.read_bytes()))
    return float(value) if isinstance(value, (int, float)) else 0.0


class Compute(Task[TaskContext[None, None, object], Result]):
    cache = True
    cache_version = "{version}"

    async def execute(self, ctx: TaskContext[None, None, object]) -> Result:
        CALLS.append(1)
        {comment}
        total = helper(_flatten(ctx.inputs)) * FACTOR {body_op}
        return Result(total, str(ctx.config.get("label", "")))


wf = Workflow("cached", input=object)
compute = wf.add(Compute())
"""

BASE = {
    "factor": "2.0",
    "helper_op": "+",
    "version": "1",
    "comment": "",
    "body_op": "",
}


def _nested(leaf: float) -> dict[str, Any]:
    value: Any = leaf
    for level in range(8):  # 8 levels deep
        value = {f"level{level}": value, "other": 1}
    return value


def _load(folder: Path, fields: dict[str, str]) -> Any:
    (folder / "cache_mod.py").write_text(textwrap.dedent(MODULE.format(**fields)))
    sys.modules.pop("cache_mod", None)
    importlib.invalidate_caches()
    return importlib.import_module("cache_mod")


def _run(ws: Workspace, mod: Any, inputs: Any, config: dict[str, Any]) -> Any:
    run = ws.project("p").experiment("e").add_run()

    async def go() -> Any:
        async with run.start(profile=config) as rc:
            return await WorkflowRuntime().execute(mod.wf, run_context=rc, inputs=inputs)

    result = asyncio.run(go())
    assert result.ok, result.failure
    return run, result


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "input.dat"
    path.write_bytes(data)
    return path


CASES: list[tuple[str, dict[str, str], str, str, bool]] = [
    # name, module changes, input kind for run 2, config label for run 2, expected hit
    ("unchanged", {}, "same", "a", True),
    ("comment-only edit", {"comment": "# a comment\n        # and a line more"}, "same", "a", True),
    ("changed body", {"body_op": "+ 0.5"}, "same", "a", False),
    ("changed helper", {"helper_op": "-"}, "same", "a", False),
    ("changed module constant", {"factor": "3.0"}, "same", "a", False),
    ("changed config value", {}, "same", "b", False),
    ("changed input value", {}, "scalar", "a", False),
    ("changed nested input 8 levels deep", {}, "nested", "a", False),
    ("changed array element", {}, "array", "a", False),
    ("changed input file bytes", {}, "file", "a", False),
    ("bumped cache_version", {"version": "2"}, "same", "a", False),
]


@pytest.mark.parametrize(
    ("name", "change", "inputs", "label", "hit"), CASES, ids=[c[0] for c in CASES]
)
def test_cache_matrix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    change: dict[str, str],
    inputs: str,
    label: str,
    hit: bool,
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    ws = Workspace(tmp_path / "ws")
    array = np.linspace(0.0, 1.0, 1000)

    def make_inputs(kind: str) -> Any:
        base: dict[str, Any] = {
            "scalar": 1.5,
            "nested": _nested(2.0),
            "array": array.copy(),
            "file": _file(tmp_path, b"0123456789" * 100),
        }
        if kind == "scalar":
            base["scalar"] = 1.75
        elif kind == "nested":
            base["nested"] = _nested(2.5)  # only the innermost leaf differs
        elif kind == "array":
            base["array"][517] += 1e-9
        elif kind == "file":
            base["file"] = _file(tmp_path, b"0123456789" * 99 + b"012345678X")  # same size
        return base

    mod = _load(tmp_path, BASE)
    first_run, first = _run(ws, mod, make_inputs("same"), {"label": "a"})
    assert mod.CALLS == [1] and not first.cached
    mod = _load(tmp_path, {**BASE, **change})
    _, second = _run(ws, mod, make_inputs(inputs), {"label": label})
    if hit:
        assert mod.CALLS == [], f"{name}: the body ran on a hit"
        assert second.cached == {"compute": first_run.id}
        assert repr(second.output(mod.compute)) == repr(first.output(mod.compute))
        assert type(second.output(mod.compute)).__name__ == "Result"
    else:
        assert mod.CALLS == [1], f"{name}: a false hit"
        assert not second.cached


def test_an_input_that_cannot_be_hashed_makes_the_task_uncacheable_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    ws = Workspace(tmp_path / "ws")
    mod = _load(tmp_path, BASE)
    with open(tmp_path / "handle.txt", "w") as handle:
        inputs = {"scalar": 1.0, "deep": {"handle": handle}}
        _run(ws, mod, inputs, {})
        _, second = _run(ws, mod, inputs, {})
    assert mod.CALLS == [1, 1] and not second.cached
    note = [n for n in second.notes if "not cacheable" in n]
    assert note and "task 'compute' input['deep']['handle']" in note[0]
    assert "TextIOWrapper" in note[0]


SCRIPT = """
import asyncio, sys
import attrs
from molexp import Task, TaskContext, Workflow
from molexp.runtime import WorkflowRuntime
from molexp.workspace import Workspace

@attrs.frozen
class Point:               # a class defined in __main__
    x: float
    tags: frozenset

SCALE = lambda v: v * 3    # a lambda in __main__, read by the task

class Scale(Task[TaskContext[None, None, Point], float]):
    cache = True
    async def execute(self, ctx):
        print("computed", flush=True)
        return SCALE(ctx.inputs.x)

wf = Workflow("main", input=Point)
wf.add(Scale())

async def main():
    run = Workspace(sys.argv[1]).project("p").experiment("e").add_run()
    async with run.start() as rc:
        result = await WorkflowRuntime().execute(
            wf, run_context=rc, inputs=Point(2.0, frozenset({"a", "b", "c", "d"}))
        )
    print("cached" if result.cached else "fresh", result.outputs["scale"])

asyncio.run(main())
"""


def test_main_classes_and_lambdas_hash_the_same_in_every_process(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    outputs = []
    for seed in ("1", "2", "3"):  # string hashing (set order) differs per process
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "ws")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout.split())
    assert outputs[0] == ["computed", "fresh", "6.0"]
    assert outputs[1] == ["cached", "6.0"] and outputs[2] == ["cached", "6.0"]
