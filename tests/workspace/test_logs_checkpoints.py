"""ctx.log(name).append and ctx.checkpoint chains."""

from __future__ import annotations

import pytest

from molexp.workspace import CheckpointAsset, RunStatus, Workspace


def test_log_appends_lines_and_keeps_the_asset_current(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        log = rc.bind_task("md").log("md/thermo")
        log.append("step 0 E=-1.0")
        log.append("step 1 E=-1.1\n")
        log.extend(["step 2", "step 3"])
        assert log.line_count == 4 and log.path == run.path / "logs/md/thermo.log"
        assert log.asset.line_count == 4 and log.asset.size == log.path.stat().st_size
        log.flush()
        [row] = ws.catalog.query_assets(kind="log")
        assert row.line_count == 4 and row.size == log.size and row.producer.task_id == "md"  # type: ignore[union-attr]
        again = rc.bind_task("other").log("md/thermo")  # the same log, one record
        again.append("step 4")
        assert again.line_count == 5
    text = (run.path / "logs/md/thermo.log").read_text()
    assert text.splitlines() == ["step 0 E=-1.0", "step 1 E=-1.1", "step 2", "step 3", "step 4"]
    [row] = ws.catalog.query_assets(kind="log")
    assert row.line_count == 5 and row.size == len(text.encode())  # synced when the run ended
    assert len([a for a in run.assets() if a.kind == "log"]) == 1
    with pytest.raises(TypeError, match="takes a str"), run.experiment.add_run().start() as rc2:
        rc2.log("x").append(b"bytes")  # type: ignore[arg-type]


def test_log_continues_across_attempts(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with pytest.raises(RuntimeError), run.start() as rc:
        rc.log("run").append("attempt 1")
        raise RuntimeError("crash")
    with run.start() as rc:
        log = rc.log("run")
        assert log.line_count == 1
        log.append("attempt 2")
    assert (run.path / "logs/run.log").read_text() == "attempt 1\nattempt 2\n"
    [row] = ws.catalog.query_assets(kind="log")
    assert row.line_count == 2


def test_checkpoints_chain_within_and_across_attempts(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with pytest.raises(RuntimeError), run.start() as rc:
        c1 = rc.bind_task("md").checkpoint("state", data={"step": 100})
        c2 = rc.bind_task("md").checkpoint("state", data={"step": 200})
        other = rc.checkpoint("other", data=b"\x00")
        raise RuntimeError("wall time")
    assert isinstance(c1, CheckpointAsset)
    assert c1.previous is None and c2.previous == c1.id and other.previous is None
    assert (c1.version, c2.version) == (1, 2)
    assert run.status is RunStatus.FAILED
    with run.start() as rc:
        binding = rc.bind_task("md")
        latest = binding.latest_checkpoint("state")
        assert latest is not None and latest.id == c2.id
        assert binding.load_checkpoint("state") == {"step": 200}  # resume in one call
        c3 = binding.checkpoint("state", data={"step": 300})
        assert c3.previous == c2.id and c3.producer is not None and c3.producer.attempt == 2
        assert binding.load_checkpoint("missing", default={"step": 0}) == {"step": 0}
    assert run.load_checkpoint("state") == {"step": 300}
    assert (run.path / "checkpoints/state/000003.json").is_file()
    chain = [a for a in run.assets("checkpoint") if a.name == "state"]
    assert [a.version for a in chain] == [1, 2, 3]
