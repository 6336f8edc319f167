"""Staging: a worker writes files and keeps records; the driver registers them (one writer)."""

from __future__ import annotations

import pickle
from pathlib import Path

import attrs
import pytest

from molexp.workspace import (
    AssetNameError,
    RunNotFoundError,
    RunStateError,
    StagedRecords,
    Workspace,
)


@attrs.frozen
class Frame:
    step: int


def test_worker_files_and_driver_records(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start(profile={"steps": 3}) as rc:
        rc.bind_task("prep").artifact.save("frame.json", Frame(0))
        ticket = pickle.loads(pickle.dumps(rc.ticket()))  # travels to a worker
        worker = ticket.open()
        assert worker.staging and worker.config == {"steps": 3}
        task = worker.bind_task("md", workflow="wf")
        saved = task.artifact.save("frame.json", Frame(1))
        assert saved.version == 0 and saved.path.is_file()  # versioned at registration
        assert saved.producer is not None and saved.producer.task_id == "md"
        assert task.artifact.load("frame.json", as_type=Frame) == Frame(1)  # sees its own save
        task.checkpoint("md", data={"step": 1})
        task.checkpoint("md", data={"step": 2})
        assert task.load_checkpoint("md") == {"step": 2}
        log = task.log("md")
        log.extend(["a", "b"])
        task.set_result("energy", -1.5)
        assert task.get_result("energy") == -1.5
        found = task.find_asset("frame.json")
        assert found is not None and found.version == 0
        # Nothing reached the manifest, the catalog or run.json from the worker.
        assert [a.name for a in run.assets()] == ["frame.json"] and run.results == {}
        staged = pickle.loads(pickle.dumps(worker.take_staged()))
        assert worker.closed and staged.logs == ("md",)
        assets = rc.register(staged)
        assert [(a.kind, a.name, a.version) for a in assets] == [
            ("artifact", "frame.json", 2),
            ("checkpoint", "md", 1),
            ("checkpoint", "md", 2),
            ("log", "md", 1),
        ]
        assert rc.bind_task("report").artifact.load("frame.json", as_type=Frame) == Frame(1)
    assert run.status == "succeeded" and run.results == {"energy": -1.5}
    chain = run.assets("checkpoint")
    assert chain[0].previous is None and chain[1].previous == chain[0].id
    assert (run.path / "artifacts" / "frame.json").read_text() == '{"step":1}'
    mine = ws.catalog.query_assets(producer_task="md")
    assert sorted((a.kind, a.version) for a in mine) == [
        ("artifact", 2),
        ("checkpoint", 1),
        ("checkpoint", 2),
        ("log", 1),
    ]
    logged = ws.catalog.query_assets(kind="log")[0]
    assert (logged.size, logged.line_count) == (4, 2)  # refreshed when the run closed


def test_a_log_opened_by_two_workers_is_registered_once(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        first, second = rc.ticket().open(), rc.ticket().open()
        first.bind_task("a").log("shared").append("from a")
        second.bind_task("b").log("shared").append("from b")
        rc.register(first.take_staged())
        rc.register(second.take_staged())
    logs = run.assets("log")
    assert len(logs) == 1 and logs[0].producer is not None and logs[0].producer.task_id == "a"
    assert logs[0].read_text() == "from a\nfrom b\n"


def test_name_clashes_and_missing_files_are_reported_after_recording_the_rest(
    ws: Workspace,
) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        worker = rc.ticket().open()
        binding = worker.bind_task("w")
        binding.artifact.save("a/b", "x")
        with pytest.raises(AssetNameError, match="clashes with the existing artifact 'a/b'"):
            binding.artifact.save("a", "y")  # checked on the worker against what it staged
        binding.artifact.save("ok", "fine")
        gone = binding.artifact.save("gone", "lost")
        staged = worker.take_staged()
        rc.bind_task("driver").artifact.save("a", "a file now")  # the driver got there first
        gone.path.unlink()  # as if the worker wrote to a disk the driver cannot see
        with pytest.raises(RunStateError, match="filesystem shared by the driver and the workers"):
            rc.register(staged)
        assert sorted(a.name for a in run.assets("artifact")) == ["a", "ok"]
        late = rc.ticket().open()
        late.bind_task("w2").artifact.save("c/d", "z")
        rc.bind_task("driver").artifact.save("c", "a file, saved while w2 ran")
        with pytest.raises(AssetNameError, match="'c/d' .* clashes with the existing artifact 'c'"):
            rc.register(late.take_staged())
        assert rc.bind_task("t").artifact.load("c") == "a file, saved while w2 ran"


def test_misuse_is_refused_clearly(ws: Workspace, tmp_path: Path) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        with pytest.raises(RunStateError, match="take_staged"):
            rc.take_staged()
        worker = rc.ticket().open()
        with pytest.raises(RunStateError, match="cannot register"):
            worker.register(StagedRecords(run_id=run.id))
        with pytest.raises(ValueError, match="staged for run other"):
            rc.register(StagedRecords(run_id="other"))
        with pytest.raises(TypeError, match="result keys"):
            worker.bind_task("t").set_result("", 1)
        with pytest.raises(TypeError, match="not JSON-serializable"):
            worker.bind_task("t").set_result("k", object())
        elsewhere = attrs.evolve(rc.ticket(), root=str(tmp_path / "not-shared"))
        with pytest.raises(RunNotFoundError, match="filesystem shared by the driver"):
            elsewhere.open()
