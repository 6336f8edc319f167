"""Regressions found in review: JSON validity, immutable versions, current log sizes,
the failed task recorded with the run error."""

from __future__ import annotations

import asyncio
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from molexp import Task, TaskContext, Workflow, WorkflowRuntime, Workspace

from .conftest import assert_strict_json_tree


def test_non_finite_floats_are_rejected_naming_where(tmp_path: Path) -> None:
    run = Workspace(tmp_path).project("p").experiment("e").add_run()
    with run.start() as rc:
        with pytest.raises(
            TypeError, match=r"value at value\['e'\] is inf; JSON has no NaN or Infinity"
        ):
            rc.artifact.save("e.json", {"e": math.inf})
        with pytest.raises(TypeError, match="is nan"):
            rc.set_result("energy", float("nan"))
        rc.set_result("energy", -1.0)
    assert run.results == {"energy": -1.0}
    assert run.assets() == []  # nothing written for the rejected save
    assert assert_strict_json_tree(run.path) > 0  # NaN/Infinity would not parse


def test_versions_are_read_only_so_the_latest_view_cannot_rewrite_history(tmp_path: Path) -> None:
    run = Workspace(tmp_path).project("p").experiment("e").add_run()
    with run.start() as rc:
        asset = rc.artifact.save("rdf.csv", "r,g\n1,2\n")
    mode = stat.S_IMODE(os.stat(asset.path).st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    latest = run.path / "artifacts" / "rdf.csv"
    assert latest.read_text() == "r,g\n1,2\n"
    assert stat.S_IMODE(os.stat(latest).st_mode) == mode  # the same inode


def test_find_asset_reports_the_current_size_of_a_log(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        binding = rc.bind_task("t")
        log = binding.log("md")
        for i in range(5):
            log.append(f"step {i}")
        found = binding.find_asset("md", kind="log")
        assert found is not None and found.size == len("step 0\n") * 5


class Fails(Task):
    async def execute(self, ctx: TaskContext) -> Any:
        raise ValueError("energy diverged")


def test_the_failed_task_is_recorded_with_the_run_error(tmp_path: Path) -> None:
    wf = Workflow("w")
    wf.add(Fails(), name="integrate")
    run = Workspace(tmp_path).project("p").experiment("e").add_run()

    async def main() -> None:
        async with run.start() as rc:
            (await WorkflowRuntime().execute(wf, run_context=rc)).raise_for_status()

    with pytest.raises(
        Exception, match="task 'integrate' failed: ValueError: energy diverged"
    ) as info:
        asyncio.run(main())
    assert str(info.value).count("energy diverged") == 1  # no traceback pasted into the message
    error = run.error
    assert error is not None and error.task_id == "integrate" and str(run.status) == "failed"


def test_a_task_resumes_from_a_typed_checkpoint(tmp_path: Path) -> None:
    import attrs

    @attrs.frozen
    class MDState:
        step: int
        energy: float

    seen: list[Any] = []

    class Resume(Task):
        async def execute(self, ctx: TaskContext) -> None:
            seen.append(ctx.load_checkpoint("md", MDState(0, 0.0), as_type=MDState))
            ctx.checkpoint("md", data=MDState(step=len(seen) * 10, energy=-1.5))

    wf = Workflow("w")
    wf.add(Resume())
    run = Workspace(tmp_path).project("p").experiment("e").add_run()
    for attempt in range(2):  # two attempts of the same run: the first one fails
        with run.start() as rc:
            asyncio.run(WorkflowRuntime().execute(wf, run_context=rc))
            if attempt == 0:
                rc.fail("preempted by the scheduler")
    assert seen == [MDState(0, 0.0), MDState(10, -1.5)]
    assert asyncio.run(WorkflowRuntime().execute(wf)).ok  # without a run: the default


def test_run_ids_are_unique_across_the_workspace(tmp_path: Path) -> None:
    from molexp import RunStateError

    ws = Workspace(tmp_path)
    ws.project("p").experiment("e1").add_run(run_id="replica-1")
    with pytest.raises(RunStateError, match="'replica-1' already exists in experiment p/e1"):
        ws.project("p").experiment("e2").add_run(run_id="replica-1")
    assert [r.experiment_name for r in ws.catalog.query_runs()] == ["e1"]
    assert not (tmp_path / "projects" / "p" / "experiments" / "e2" / "runs" / "replica-1").exists()
