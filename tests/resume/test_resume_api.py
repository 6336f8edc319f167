"""Typed output persistence and resume through the API (``run.start()`` again + execute)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import importlib
import json
import sys
import textwrap
from pathlib import Path
from typing import Any, TypedDict

import attrs
import numpy as np
import pytest

from molexp import Task, TaskContext, Workflow
from molexp.runtime import WorkflowRuntime
from molexp.workspace import Workspace


@attrs.frozen
class Structure:
    symbols: tuple[str, ...]
    positions: list[list[float]]


class Phase(enum.Enum):
    SOLID = "solid"
    LIQUID = "liquid"


@dataclasses.dataclass(frozen=True)
class Measured:
    phase: Phase
    when: dt.datetime
    energy: float


class Summary(TypedDict):
    n: int
    label: str


@attrs.frozen
class Frames:
    forces: np.ndarray  # a FileCodec value inside an attrs class: a bundle on disk


class _Log:
    """Test bookkeeping the tasks read. A plain object: code hashes identify it by type
    (a module-level list or set that tests mutate would be hashed by content)."""

    def __init__(self) -> None:
        self.executed: list[str] = []
        self.fail: set[str] = set()


LOG = _Log()
EXECUTED = LOG.executed
FAIL = LOG.fail


def _ran(task_id: str) -> None:
    LOG.executed.append(task_id)
    if task_id in LOG.fail:
        raise RuntimeError(f"{task_id} failed on purpose")


class Build(Task[TaskContext[None, None, None], Structure]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Structure:
        _ran("build")
        return Structure(("H", "O", "H"), [[0.0, 0.0, 0.0], [0.9, 0.0, 0.0], [1.8, 0.1, 0.0]])


class Measure(Task[TaskContext[None, None, Structure], Measured]):
    async def execute(self, ctx: TaskContext[None, None, Structure]) -> Measured:
        _ran("measure")
        assert type(ctx.inputs) is Structure  # a real Structure, also when resumed
        assert type(ctx.inputs.symbols) is tuple
        return Measured(Phase.LIQUID, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), -7.5)


class Forces(Task[TaskContext[None, None, Structure], Frames]):
    async def execute(self, ctx: TaskContext[None, None, Structure]) -> Frames:
        _ran("forces")
        return Frames(np.arange(12, dtype=np.float32).reshape(4, 3) * 0.5)


class Summarize(Task[TaskContext[None, None, dict[str, Any]], Summary]):
    async def execute(self, ctx: TaskContext[None, None, dict[str, Any]]) -> Summary:
        _ran("summarize")
        measured, frames = ctx.inputs["measure"], ctx.inputs["forces"]
        assert type(measured) is Measured and measured.phase is Phase.LIQUID
        assert measured.when.tzinfo is not None
        assert type(frames) is Frames and frames.forces.dtype == np.float32
        return {"n": int(frames.forces.shape[0]), "label": measured.phase.value}


class Report(Task[TaskContext[None, None, Summary], str]):
    async def execute(self, ctx: TaskContext[None, None, Summary]) -> str:
        _ran("report")
        return f"{ctx.inputs['n']} frames, {ctx.inputs['label']}"


def _workflow() -> tuple[Workflow[None, None, None], Any]:
    wf: Workflow[None, None, None] = Workflow("typed")
    build = wf.add(Build())
    measure = wf.add(Measure(), after=build)
    forces = wf.add(Forces(), after=build)
    summarize = wf.add(Summarize(), after={"measure": measure, "forces": forces})
    report = wf.add(Report(), after=summarize)
    return wf, report


async def _attempt(run: Any, wf: Workflow[Any, Any, Any], **kw: Any) -> Any:
    async with run.start() as rc:
        return await WorkflowRuntime().execute(wf, run_context=rc, **kw)


@pytest.fixture(autouse=True)
def _reset() -> None:
    EXECUTED.clear()
    FAIL.clear()


def _records(run: Any) -> list[dict[str, Any]]:
    lines = (run.path / "tasks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_outputs_are_stored_and_a_resumed_attempt_feeds_them_back_typed(tmp_path: Path) -> None:
    wf, report = _workflow()
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    FAIL.add("summarize")
    first = asyncio.run(_attempt(run, wf))
    assert first.status == "failed" and str(run.status) == "failed"
    assert EXECUTED == ["build", "measure", "forces", "summarize"] or sorted(EXECUTED) == sorted(
        ["build", "measure", "forces", "summarize"]
    )
    stored = {r["task"]: r for r in _records(run) if r["event"] == "output"}
    assert set(stored) == {"build", "measure", "forces"}
    assert stored["build"]["type"].endswith("Structure") and "inline" in stored["build"]
    assert stored["forces"]["encoding"] == "bundle"  # the array went to its own .npy member
    assert (run.path / stored["forces"]["file"]).is_file()

    EXECUTED.clear()
    FAIL.clear()
    second = asyncio.run(_attempt(run, wf))
    assert second.ok, second.failure
    assert EXECUTED == ["summarize", "report"]  # build, measure, forces were not run again
    assert set(second.reused) == {"build", "measure", "forces"}
    assert second.output(report) == "4 frames, liquid"
    assert type(second.outputs["build"]) is Structure
    assert str(run.status) == "succeeded" and run.attempt == 2
    attempts = run.info()["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "succeeded"]


def test_an_output_that_cannot_be_stored_is_noted_and_the_task_runs_again(tmp_path: Path) -> None:
    class Handle(Task[TaskContext[None, None, None], object]):
        async def execute(self, ctx: TaskContext[None, None, None]) -> object:
            _ran("handle")
            return object()  # nothing can store this: never pickled, never a crash

    class After(Task[TaskContext[None, None, object], int]):
        async def execute(self, ctx: TaskContext[None, None, object]) -> int:
            _ran("after")
            return 1

    wf: Workflow[None, None, None] = Workflow("unstorable")
    handle = wf.add(Handle())
    wf.add(After(), after=handle)
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    FAIL.add("after")
    first = asyncio.run(_attempt(run, wf))
    assert first.status == "failed"
    assert any("task 'handle': output not stored" in n and "object" in n for n in first.notes)
    assert [r["event"] for r in _records(run) if r["task"] == "handle"] == ["unstored"]
    EXECUTED.clear()
    FAIL.clear()
    second = asyncio.run(_attempt(run, wf))
    assert second.ok
    assert EXECUTED == ["handle", "after"]  # not resumable: it ran again


def _write_module(folder: Path, name: str, body: str) -> Any:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module(name)


CHAIN = """
from molexp import Task, TaskContext, Workflow

RAN = []
SCALE = {scale}

def helper(x: int) -> int:
    return x {op} 1

class Load(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        RAN.append("load")
        return 10

class Step(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        RAN.append("step")
        {comment}
        return helper(ctx.inputs) * SCALE

class Last(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        RAN.append("last")
        {last}
        return ctx.inputs + 1

wf = Workflow("chain")
load = wf.add(Load())
step = wf.add(Step(), after=load)
last = wf.add(Last(), after=step)
"""


@pytest.mark.parametrize(
    ("change", "reruns"),
    [
        ({}, ["last"]),  # nothing changed: only the failed task runs
        ({"comment": "# a comment\n        # two lines: every line below moves"}, ["last"]),
        ({"op": "-"}, ["step", "last"]),  # a helper it calls changed
        ({"scale": "3"}, ["step", "last"]),  # a module constant it reads changed
    ],
)
def test_a_changed_graph_or_code_reruns_what_changed_and_downstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, str], reruns: list[str]
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    fmt = {
        "scale": "2",
        "op": "+",
        "comment": "",
        "last": "raise RuntimeError('first attempt fails')",
    }
    mod = _write_module(tmp_path, "chain_mod", CHAIN.format(**fmt))
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    assert asyncio.run(_attempt(run, mod.wf)).status == "failed"
    assert mod.RAN == ["load", "step", "last"]
    mod = _write_module(tmp_path, "chain_mod", CHAIN.format(**{**fmt, "last": "pass", **change}))
    result = asyncio.run(_attempt(run, mod.wf))
    assert result.ok, result.failure
    assert mod.RAN == reruns
    if "step" in reruns:
        assert any("task 'step' runs again: its code changed" in n for n in result.notes)
    scale = int(change.get("scale", "2"))
    expected = ((10 - 1) if change.get("op") == "-" else (10 + 1)) * scale + 1
    assert result.output(mod.last) == expected


def test_a_succeeded_run_cannot_be_started_again(tmp_path: Path) -> None:
    wf, _ = _workflow()
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    assert asyncio.run(_attempt(run, wf)).ok
    with pytest.raises(Exception, match="already succeeded"):
        asyncio.run(_attempt(run, wf))
