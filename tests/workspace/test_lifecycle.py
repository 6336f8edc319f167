"""Run status lifecycle: pending -> running -> succeeded | failed | cancelled | interrupted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from molexp.profile import ProfileConfig
from molexp.workspace import RunContext, RunStateError, RunStatus, Workspace

from .conftest import python_env, strict_loads


def test_success_records_profile_timestamps_and_results(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run(params={"lr": 0.1})
    profile = ProfileConfig({"steps": 10, "engine": {"name": "lammps"}}, name="quick")
    with run.start(profile=profile) as rc:
        assert isinstance(rc, RunContext) and rc.run == run and rc.attempt == 1
        assert rc.config == profile and rc.path == run.path
        assert run.info()["status"] == "running"
        rc.set_result("energy", -1.5)
        # durable as soon as set: another workspace object (another process) sees it
        assert Workspace(ws.root).run(run.id).results == {"energy": -1.5}
    assert run.status is RunStatus.SUCCEEDED
    doc = strict_loads((run.path / "run.json").read_bytes())
    assert doc["profile"] == {
        "name": "quick",
        "config": {"steps": 10, "engine": {"name": "lammps"}},
        "hash": profile.content_hash,
    }
    assert run.profile == "quick" and run.config_hash == profile.content_hash
    assert run.config == profile
    assert run.started_at is not None and run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert doc["attempts"][0]["status"] == "succeeded" and doc["owner"]["pid"] == os.getpid()


def test_exception_fails_the_run_with_type_message_traceback(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()

    def body() -> None:
        with run.start() as rc:
            rc.set_result("partial", 1)
            raise ValueError("diverged at step 7")

    with pytest.raises(ValueError, match="diverged"):
        body()
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error.type == "ValueError" and run.error.message == "diverged at step 7"
    assert run.error.traceback is not None and "in body" in run.error.traceback
    assert run.results == {"partial": 1}  # nothing recorded is lost


def test_keyboard_interrupt_and_cancellation_cancel_the_run(ws: Workspace) -> None:
    exp = ws.project("p").experiment("e")
    run = exp.add_run()
    with pytest.raises(KeyboardInterrupt), run.start():
        raise KeyboardInterrupt
    assert run.status is RunStatus.CANCELLED and run.error is not None
    assert run.error.type == "KeyboardInterrupt"

    run2 = exp.add_run()

    async def main() -> None:
        async with run2.start() as rc:
            rc.set_result("before", True)
            await asyncio.sleep(10)

    async def cancel_it() -> None:
        task = asyncio.create_task(main())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    assert run2.status is RunStatus.CANCELLED
    assert run2.error is not None and run2.error.type == "asyncio.exceptions.CancelledError"
    assert run2.results == {"before": True}


def test_explicit_fail_without_exception(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.fail("workflow returned a failed result")
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error.message == "workflow returned a failed result"

    run2 = ws.project("p").experiment("e").add_run()
    with run2.start() as rc:
        try:
            raise RuntimeError("task 'train' failed")
        except RuntimeError as exc:
            rc.fail(exc)
    assert run2.error is not None and run2.error.type == "RuntimeError"
    assert "task 'train' failed" in (run2.error.traceback or "")


def test_restart_after_failure_is_a_new_attempt(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with pytest.raises(RuntimeError), run.start(profile={"a": 1}) as rc:
        rc.set_result("first", 1)
        raise RuntimeError("boom")
    with run.start(profile={"a": 2}) as rc:
        assert rc.attempt == 2
        assert rc.get_result("first") == 1
        assert rc.bind_task("t").producer.attempt == 2
    assert run.status is RunStatus.SUCCEEDED and run.error is None and run.attempt == 2
    attempts = run.info()["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "succeeded"]
    assert attempts[0]["config_hash"] != attempts[1]["config_hash"]


def test_cannot_start_a_running_or_succeeded_run(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start():
        with pytest.raises(RunStateError, match="already running"), run.start():
            pass
        assert run.status is RunStatus.RUNNING  # the failed second start changed nothing
    with pytest.raises(RunStateError, match="already succeeded; add a new run"), run.start():
        pass


def test_context_is_closed_after_the_block(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        binding = rc.bind_task("t")
    with pytest.raises(RunStateError, match="run context is closed"):
        binding.artifact.save("late.txt", "x")
    with pytest.raises(RunStateError, match="closed"):
        rc.set_result("late", 1)
    assert run.assets() == [] and run.results == {}


def test_attach_records_without_owning(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        with Workspace(ws.root).run(run.id).attach() as worker:
            worker.bind_task("remote").artifact.save("w.txt", "from a worker")
            worker.set_result("worker", 1)
        assert run.status is RunStatus.RUNNING  # attaching did not change the status
        rc.set_result("owner", 2)
    assert run.results == {"worker": 1, "owner": 2}
    assert [a.producer.task_id for a in run.assets() if a.producer] == ["remote"]


def test_a_killed_owner_leaves_the_run_interrupted(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    code = (
        "import sys, time\n"
        "from molexp.workspace import Workspace\n"
        "run = Workspace(sys.argv[1]).run(sys.argv[2])\n"
        "with run.start() as rc:\n"
        "    rc.set_result('alive', True)\n"
        "    print('started', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(ws.root), run.id],
        env=python_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    assert run.info()["status"] == "running"  # the owner holds its lock: alive
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fresh = Workspace(ws.root)
    assert [r.id for r in fresh.catalog.query_runs(status="interrupted")] == [run.id]
    assert run.status is RunStatus.INTERRUPTED and run.results == {"alive": True}
    assert run.info()["attempts"][-1]["status"] == "interrupted"
    with run.start() as rc:  # an interrupted run can be resumed
        assert rc.attempt == 2
    assert Workspace(ws.root).run(run.id).status is RunStatus.SUCCEEDED


def test_owner_on_another_host_is_judged_by_its_heartbeat(tmp_path: object, ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    doc = json.loads((run.path / "run.json").read_text())
    doc.update(status="running", owner={"host": "node-17", "pid": 1, "boot_id": "x"})
    (run.path / "run.json").write_text(json.dumps(doc))
    (run.path / "heartbeat").touch()
    assert Workspace(ws.root, stale_after=60).run(run.id).status is RunStatus.RUNNING
    old = time.time() - 120
    os.utime(run.path / "heartbeat", (old, old))
    assert Workspace(ws.root, stale_after=60).run(run.id).status is RunStatus.INTERRUPTED


def test_heartbeat_is_touched_while_running(tmp_path: object) -> None:
    from pathlib import Path

    ws = Workspace(Path(str(tmp_path)) / "ws", heartbeat_interval=0.05)
    run = ws.project("p").experiment("e").add_run()
    with run.start():
        first = (run.path / "heartbeat").stat().st_mtime_ns
        deadline = time.monotonic() + 5
        while (run.path / "heartbeat").stat().st_mtime_ns == first:
            assert time.monotonic() < deadline, "heartbeat never touched"
            time.sleep(0.02)


def test_reading_a_run_whose_owner_died_writes_nothing(ws: Workspace) -> None:
    """Reads are pure: a dead owner's run reads interrupted everywhere, and is recorded so
    only by an explicit operation (here ``mark_interrupted``; also the next open's reconcile
    and a new attempt)."""
    run = ws.project("p").experiment("e").add_run()

    def owned_elsewhere(doc: Any) -> None:
        doc.update(status="running", owner={"host": "node-17", "pid": 1, "boot_id": "x"})

    ws.store.runs.update(ws.store.runs.file(run.key), owned_elsewhere)  # as its owner elsewhere
    old = time.time() - 10 * ws.stale_after
    (run.path / "heartbeat").touch()
    os.utime(run.path / "heartbeat", (old, old))  # ... and then that host died

    def files() -> dict[Path, bytes]:  # (SQLite's shared memory file changes on reads)
        paths = [p for p in ws.root.rglob("*") if p.is_file() and not p.name.endswith("-shm")]
        return {p: p.read_bytes() for p in paths}

    before = files()
    assert run.status is RunStatus.INTERRUPTED
    assert run.info()["status"] == "interrupted"
    assert run.info()["attempts"] == []  # attempts are only written by start()
    assert [r.id for r in ws.catalog.query_runs(status="interrupted")] == [run.id]
    assert ws.catalog.query_runs(status="running") == []
    assert ws.run(run.id).status is RunStatus.INTERRUPTED
    assert files() == before
    assert json.loads((run.path / "run.json").read_text())["status"] == "running"
    assert run.mark_interrupted() is True
    assert json.loads((run.path / "run.json").read_text())["status"] == "interrupted"
    assert run.mark_interrupted() is False
    assert [r.id for r in ws.catalog.query_runs(status="interrupted")] == [run.id]
