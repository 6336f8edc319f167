"""Resume and retries through composition: map elements are stored, reused and retried one
by one (``relax[i]``); a sub-workflow node is stored and reused as a whole, and re-runs when
code inside it changes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import attrs

from molexp import SubWorkflow, Task, TaskContext, Workflow
from molexp.runtime import WorkflowRuntime
from molexp.workspace import Workspace


@attrs.frozen
class Cell:
    size: float


@attrs.frozen
class Relaxed:
    size: float
    energy: float


class _Log:
    def __init__(self) -> None:
        self.executed: list[str] = []
        self.fail: set[str] = set()
        self.flaky: dict[str, int] = {}


LOG = _Log()


def _ran(task_id: str) -> None:
    LOG.executed.append(task_id)
    if task_id in LOG.fail:
        raise RuntimeError(f"{task_id} failed on purpose")
    if LOG.flaky.get(task_id, 0) > 0:
        LOG.flaky[task_id] -= 1
        raise ConnectionError(f"{task_id} flaked")


class Cells(Task[TaskContext[None, None, None], list[Cell]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[Cell]:
        _ran(ctx.task_id)
        return [Cell(1.0 + i / 10) for i in range(5)]


class Relax(Task[TaskContext[None, None, Cell], Relaxed]):
    retries = 1
    retry_on = (ConnectionError,)
    retry_backoff = 0.0

    async def execute(self, ctx: TaskContext[None, None, Cell]) -> Relaxed:
        _ran(ctx.task_id)
        assert type(ctx.inputs) is Cell
        return Relaxed(ctx.inputs.size, -(ctx.inputs.size**2))


class Lowest(Task[TaskContext[None, None, list[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[None, None, list[Relaxed]]) -> float:
        _ran(ctx.task_id)
        assert all(type(r) is Relaxed for r in ctx.inputs)  # typed, also when reused
        return min(r.energy for r in ctx.inputs)


def _scan() -> Workflow[None, None, None]:
    wf: Workflow[None, None, None] = Workflow("scan")
    cells = wf.add(Cells(), name="cells")
    relaxed = wf.map(Relax(), over=cells, name="relax", max_concurrency=2)
    wf.add(Lowest(), after=relaxed, name="lowest")
    return wf


async def _attempt(run: Any, wf: Workflow[Any, Any, Any]) -> Any:
    async with run.start() as rc:
        return await WorkflowRuntime().execute(wf, run_context=rc)


def _reset() -> None:
    LOG.executed.clear()
    LOG.fail.clear()
    LOG.flaky.clear()


def test_a_resumed_map_runs_only_the_elements_that_did_not_finish(tmp_path: Path) -> None:
    _reset()
    wf = _scan()
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    LOG.fail.add("relax[3]")
    first = asyncio.run(_attempt(run, wf))
    assert not first.ok and "relax[3]" in str(first.failure)
    stored = {
        json.loads(line)["task"]
        for line in (run.path / "tasks.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "output"
    }
    assert {"cells", "relax[0]", "relax[1]"} <= stored and "relax[3]" not in stored

    done_before = {t for t in LOG.executed if t.startswith("relax[") and t != "relax[3]"}
    _reset()
    second = asyncio.run(_attempt(run, wf))
    assert second.ok, second.failure
    assert "cells" not in LOG.executed  # reused
    again = {t for t in LOG.executed if t.startswith("relax[")}
    assert "relax[3]" in again and not (again & (done_before & stored))
    assert {f"relax[{i}]" for i in (0, 1)} <= set(second.reused)
    assert second.output(wf.node("lowest")) == -(1.4**2)


def test_retries_apply_to_each_element_and_every_try_is_recorded(tmp_path: Path) -> None:
    _reset()
    wf = _scan()
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    LOG.flaky["relax[2]"] = 1  # its first try fails, the retry succeeds
    result = asyncio.run(_attempt(run, wf))
    assert result.ok, result.failure
    assert LOG.executed.count("relax[2]") == 2 and LOG.executed.count("relax[1]") == 1
    assert [t.status for t in result.tries["relax[2]"]] == ["failed", "succeeded"]


# -- a sub-workflow node, stored and reused as a whole ---------------------------------------


def _double(factor: float) -> type[Task[TaskContext[None, None, float], float]]:
    """The same class name each time (the inner wiring is unchanged); its code is not."""

    class Double(Task[TaskContext[None, None, float], float]):
        async def execute(self, ctx: TaskContext[None, None, float]) -> float:
            _ran(ctx.task_id)
            return ctx.inputs * factor

    return Double


class Seed(Task[TaskContext[None, None, None], float]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> float:
        _ran(ctx.task_id)
        return 1.5


class Finish(Task[TaskContext[None, None, float], float]):
    async def execute(self, ctx: TaskContext[None, None, float]) -> float:
        _ran(ctx.task_id)
        return ctx.inputs + 1


def _outer(inner_task: Task[Any, float]) -> Workflow[None, None, None]:
    inner: Workflow[None, None, float] = Workflow("twice", input=float)
    doubled = inner.add(inner_task, name="double")
    wf: Workflow[None, None, None] = Workflow("outer")
    seed = wf.add(Seed(), name="seed")
    sub = wf.add(SubWorkflow(inner, output=doubled), after=seed, name="twice")
    wf.add(Finish(), after=sub, name="finish")
    return wf


def test_a_sub_workflow_is_reused_whole_and_reruns_when_code_inside_it_changes(
    tmp_path: Path,
) -> None:
    _reset()
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()
    LOG.fail.add("finish")
    assert not asyncio.run(_attempt(run, _outer(_double(2.0)()))).ok
    assert LOG.executed == ["seed", "twice.double", "finish"]

    _reset()
    LOG.fail.add("finish")  # fails again: the run stays resumable
    second = asyncio.run(_attempt(run, _outer(_double(2.0)())))  # the same graph, rebuilt
    assert LOG.executed == ["finish"] and "twice" in second.reused

    _reset()
    third = asyncio.run(_attempt(run, _outer(_double(3.0)())))
    assert third.ok, third.failure
    assert LOG.executed == ["twice.double", "finish"]  # the code inside it changed
    assert third.output(_outer(_double(3.0)()).node("finish")) == 1.5 * 3 + 1
