"""Review of the group commit: error paths, close during waits, closed loops.

Each test drives one ordering of threads and the event loop with events (no sleeps decide
the outcome); a hang is detected with a generous timeout and reported as a failure.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from molexp.workspace import RunStatus, Workspace
from molexp.workspace.group_commit import GroupCommit
from molexp.workspace.local_recorder import LocalRecorder

from .conftest import catalog_view, manifest_view

HANG = 20.0  # seconds after which a wait that should have returned counts as a hang


def _helper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("molexp-group-commit")]


class Interrupted(BaseException):
    """What a KeyboardInterrupt delivered during fdatasync looks like to the caller."""


class Gated:
    """A real fdatasync that, on the calls listed in ``gates``, first signals that it started
    and then waits for its gate (or raises what ``raises`` maps the call to)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.calls = 0
        self.started: dict[int, threading.Event] = {}
        self.gates: dict[int, threading.Event] = {}
        self.raises: dict[int, BaseException] = {}

    def hold(self, call: int) -> tuple[threading.Event, threading.Event]:
        self.started[call], self.gates[call] = threading.Event(), threading.Event()
        return self.started[call], self.gates[call]

    def sync(self, fd: int) -> None:
        self.calls += 1
        call = self.calls
        if call in self.started:
            self.started[call].set()
            assert self.gates[call].wait(HANG)
        if call in self.raises:
            raise self.raises[call]
        os.fdatasync(fd)

    def append(self, commit: GroupCommit, line: bytes) -> int:
        os.write(self.fd, line)
        end = os.fstat(self.fd).st_size
        commit.written(end)
        return end


def test_a_sync_interrupted_by_a_base_exception_wakes_the_threads_waiting_for_it(
    tmp_path: Path,
) -> None:
    disk = Gated(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    started, gate = disk.hold(1)
    disk.raises[1] = Interrupted()
    end = disk.append(commit, b"a\n")
    outcomes: dict[str, BaseException | None] = {}

    def waiter(name: str) -> None:
        try:
            commit.wait(end)
        except BaseException as exc:
            outcomes[name] = exc
        else:
            outcomes[name] = None

    leader = threading.Thread(target=waiter, args=("leader",))
    leader.start()
    assert started.wait(HANG)  # the leader runs sync 1
    follower = threading.Thread(target=waiter, args=("follower",))
    follower.start()
    while "follower" not in outcomes and not _waiting_on(commit):
        threading.Event().wait(0.001)  # the follower sleeps on the condition
    gate.set()  # sync 1 raises Interrupted in the leader
    leader.join(HANG)
    follower.join(HANG)
    hung = follower.is_alive()
    if hung:  # let it go so the test process can end
        with commit._cond:
            commit._cond.notify_all()
        follower.join(HANG)
    assert isinstance(outcomes.get("leader"), Interrupted)
    assert not hung, "a follower waiting for an interrupted sync was never woken"
    commit.close()
    os.close(disk.fd)


def _waiting_on(commit: GroupCommit) -> bool:
    """True once a thread sleeps in ``commit._cond.wait()``."""
    return bool(getattr(commit._cond, "_waiters", ()))


class HoldingLoop(asyncio.SelectorEventLoop):
    """A loop whose ``call_soon_threadsafe``, called from the helper thread, keeps that thread
    until the callback ran on the loop: the ordering where the loop settles the waiters
    before the helper thread has gone back to its pool (as a busy machine may schedule it)."""

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any, context: Any = None):  # type: ignore[no-untyped-def,override]
        if threading.current_thread().name.startswith("molexp-group-commit"):
            ran = threading.Event()

            def run(*a: Any) -> None:
                try:
                    callback(*a)
                finally:
                    ran.set()

            handle = super().call_soon_threadsafe(run, *args, context=context)
            ran.wait(HANG)
            return handle
        return super().call_soon_threadsafe(callback, *args, context=context)


def test_close_while_tasks_wait_does_not_strand_them(tmp_path: Path) -> None:
    """close() on another thread shuts the helper pool down while a task still waits for a
    sync: the next sync for that task must still be started (here it was submitted to the
    pool being shut down, failed in a loop callback, and the task waited forever)."""
    disk = Gated(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    started1, gate1 = disk.hold(1)
    closer: list[threading.Thread] = []
    closed = threading.Event()

    def close() -> None:
        commit.close()
        closed.set()

    async def main() -> None:
        first = asyncio.ensure_future(commit.wait_async(disk.append(commit, b"a\n")))
        await asyncio.sleep(0)  # sync 1 is submitted (covers "a" only)
        await asyncio.get_running_loop().run_in_executor(None, started1.wait, HANG)
        second = asyncio.ensure_future(commit.wait_async(disk.append(commit, b"b\n")))
        await asyncio.sleep(0)  # "b" waits for the sync after sync 1
        closer.append(threading.Thread(target=close))
        closer[0].start()  # blocks in the pool's shutdown until sync 1 is done
        gate1.set()
        await asyncio.wait_for(first, HANG)
        await asyncio.wait_for(second, HANG)

    loop = HoldingLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        closer[0].join(HANG)
    assert closed.is_set()
    os.close(disk.fd)


def test_no_helper_thread_is_left_running_after_close(tmp_path: Path) -> None:
    """A task still waiting when close() let the pool go must not start a new pool that
    nobody shuts down."""
    before = set(_helper_threads())
    disk = Gated(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    started1, gate1 = disk.hold(1)
    started2, gate2 = disk.hold(2)  # close()'s own sync
    landed = threading.Event()
    closer: list[threading.Thread] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(commit.wait_async(disk.append(commit, b"a\n")))
        await asyncio.sleep(0)
        await loop.run_in_executor(None, started1.wait, HANG)
        second = asyncio.ensure_future(commit.wait_async(disk.append(commit, b"b\n")))
        await asyncio.sleep(0)
        closer.append(threading.Thread(target=commit.close))
        closer[0].start()
        gate1.set()
        # Keep the loop busy until close() runs its own sync (its pool is gone by then):
        # the waiters of sync 1 are settled afterwards, and "b" needs another sync.
        assert started2.wait(HANG)
        await asyncio.wait_for(first, HANG)
        landed.set()
        gate2.set()
        await asyncio.wait_for(second, HANG)

    asyncio.run(main())
    closer[0].join(HANG)
    assert landed.is_set()
    left = [t for t in _helper_threads() if t not in before and t.is_alive()]
    assert not left, f"helper threads still running after close: {left}"
    assert commit._pool is None
    os.close(disk.fd)


def test_a_loop_that_ends_before_its_sync_lands_leaves_no_error_and_no_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncio.run() cancelling a waiting task and closing its loop while the sync runs: the
    sync landing later must not fail in a callback, nor keep the dead loop."""
    disk = Gated(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    started1, gate1 = disk.hold(1)

    async def main() -> None:
        waiting = asyncio.ensure_future(commit.wait_async(disk.append(commit, b"a\n")))
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, started1.wait, HANG)
        assert not waiting.done()
        # return: asyncio.run cancels the waiting task and closes the loop

    with caplog.at_level(logging.ERROR):
        asyncio.run(main())
        gate1.set()
        commit.close()  # joins the helper thread: its done callback has run
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert not commit._loops, "the closed loop is still held"
    os.close(disk.fd)


# -- through the manifest and a run -------------------------------------------------------


def _failing_once(monkeypatch: pytest.MonkeyPatch, manifest: Path) -> list[int]:
    """The next fdatasync of ``manifest`` fails with EIO (later ones succeed)."""
    real = os.fdatasync
    failed: list[int] = []

    def sync(fd: int) -> None:
        if not failed and os.path.samefile(f"/proc/self/fd/{fd}", manifest):
            failed.append(fd)
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", sync)
    return failed


def test_a_save_waiting_after_a_failed_close_sync_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread closes the run between a save's append and its wait, and close()'s
    sync of that record fails: the save must raise, not return as durable."""
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    manifest = run.path / "manifest.jsonl"
    real_write = LocalRecorder._write

    def write_then_close(self: LocalRecorder, *args: Any) -> Any:
        written = real_write(self, *args)
        _failing_once(monkeypatch, manifest)
        try:
            self._manifest.close()  # what the closing thread does at this moment
        except OSError:
            pass  # (reported to that thread)
        return written

    with run.start() as rc:
        store = rc.bind_task("t").artifact
        store.save("first.json", {"ok": True})
        monkeypatch.setattr(LocalRecorder, "_write", write_then_close)
        with pytest.raises(OSError, match="could not be synced"):
            store.save("second.json", {"ok": False})
        monkeypatch.undo()
    ws.close()


def test_a_failed_save_sync_does_not_stop_the_run_from_finishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save whose sync failed raised OSError (the caller handled it); the run must
    still close, drain and get its final status (the error is not raised again by close)."""
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        store = rc.bind_task("t").artifact
        store.save("first.json", {"ok": True})
        _failing_once(monkeypatch, run.path / "manifest.jsonl")
        with pytest.raises(OSError, match="could not be synced|Input/output"):
            store.save("second.json", {"ok": False})
        monkeypatch.undo()
    assert run.status is RunStatus.SUCCEEDED
    ws.close()


def test_the_catalog_is_not_left_ahead_of_the_manifest_by_a_power_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save is indexed while its manifest record still waits for the shared fsync; the
    catalog batch may be committed in that window. A power cut then loses the record (it
    was never synced): the next open must not keep a catalog row (and an offset past the
    end of the manifest) for it, and must index what the next attempt appends there."""
    root = tmp_path / "ws"
    ws = Workspace(root)
    run = ws.project("p").experiment("e").add_run()
    manifest = run.path / "manifest.jsonl"
    real = os.fdatasync
    started, gate = threading.Event(), threading.Event()

    def held(fd: int) -> None:
        if os.path.samefile(f"/proc/self/fd/{fd}", manifest):
            started.set()
            assert gate.wait(HANG)
        real(fd)

    with run.start() as rc:
        store = rc.bind_task("t").artifact
        store.save("first.json", {"ok": True})
        durable = manifest.stat().st_size  # what the disk holds from here on
        monkeypatch.setattr(os, "fdatasync", held)
        saver = threading.Thread(target=store.save, args=("second.json", {"ok": 2}))
        saver.start()
        assert started.wait(HANG)  # the record is appended and its sync has not run
        ws.catalog.count_assets(run=run.id)  # a query commits the batch, "second" with it
        os.truncate(manifest, durable)  # the power cut: the unsynced record is gone
        gate.set()
        saver.join(HANG)
        monkeypatch.undo()
    ws.close()

    ws = Workspace(root)  # the next start after the power cut
    assert catalog_view(ws) == manifest_view(root)
    run = ws.project("p").experiment("e").run(run.id)
    with run.attach() as rc:  # appended where the lost record was
        rc.bind_task("t").artifact.save("third.json", {"ok": 3})
    assert catalog_view(ws) == manifest_view(root)
    ws.close()


def test_a_sync_that_cannot_be_started_fails_its_waiters_instead_of_stranding_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No thread for the helper (``can't start new thread`` when the process is out of
    them): the waiting tasks get the error, and the loop's next waiters are served."""
    disk = Gated(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    real_submit = ThreadPoolExecutor.submit
    refused: list[int] = []

    def submit(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append(1)
            raise RuntimeError("can't start new thread")
        return real_submit(self, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", submit)

    async def main() -> list[Any]:
        first = await asyncio.wait_for(
            asyncio.gather(
                commit.wait_async(disk.append(commit, b"a\n")),
                commit.wait_async(disk.append(commit, b"b\n")),
                return_exceptions=True,
            ),
            HANG,
        )
        await asyncio.wait_for(commit.wait_async(disk.append(commit, b"c\n")), HANG)
        return first

    outcomes = asyncio.run(main())
    assert [type(o) for o in outcomes] == [RuntimeError, RuntimeError]
    commit.close()
    os.close(disk.fd)
