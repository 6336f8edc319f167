"""Bad input gets a clear error naming the offending thing, and loses nothing recorded."""

from __future__ import annotations

import pytest

from molexp.workspace import CorruptRunError, RunNotFoundError, RunStatus, Workspace


def test_corrupted_run_json_is_a_clear_error_and_is_left_alone(ws: Workspace) -> None:
    exp = ws.project("p").experiment("e")
    good = exp.add_run()
    bad = exp.add_run()
    with bad.start() as rc:
        rc.set_result("kept", 1)
    (bad.path / "run.json").write_text('{"run_id": "x", "status": "succ')  # truncated by hand
    content = (bad.path / "run.json").read_bytes()
    fresh = Workspace(ws.root)
    with pytest.raises(CorruptRunError, match=rf"run {bad.id}: .*run.json is not valid JSON"):
        fresh.run(bad.id).status
    with pytest.raises(CorruptRunError, match="not valid JSON"):
        fresh.run(bad.id).start().__enter__()
    # the rest of the workspace keeps working
    assert good in fresh.catalog.query_runs()
    assert fresh.run(good.id).status is RunStatus.PENDING
    assert (bad.path / "run.json").read_bytes() == content


def test_run_json_without_required_fields(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    (run.path / "run.json").write_text('{"run_id": "x"}')
    with pytest.raises(CorruptRunError, match="missing status, params, results"):
        Workspace(ws.root).run(run.id).params
    (run.path / "run.json").write_text(
        '{"run_id": "x", "status": "exploded", "params": {}, "results": {}}'
    )
    with pytest.raises(CorruptRunError, match="unknown status 'exploded'"):
        Workspace(ws.root).run(run.id).status


def test_unknown_and_vanished_runs(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with pytest.raises(RunNotFoundError, match="no run 'r-404'"):
        ws.run("r-404")
    (run.path / "run.json").unlink()
    with pytest.raises(RunNotFoundError, match=rf"run '{run.id}' not found"):
        run.status


def test_bad_results_change_nothing(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.set_result("ok", {"a": [1, 2]})
        before = (run.path / "run.json").read_bytes()
        with pytest.raises(TypeError, match=r"result 'bad' of run .*builtins.set"):
            rc.set_result("bad", {1, 2})
        with pytest.raises(TypeError, match="result keys are non-empty str"):
            rc.set_result("", 1)
        with pytest.raises(TypeError, match="result keys are non-empty str"):
            rc.set_result(3, 1)  # type: ignore[arg-type]
        assert (run.path / "run.json").read_bytes() == before
    assert run.results == {"ok": {"a": [1, 2]}}
