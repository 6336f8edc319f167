"""Group commit: concurrent durable appends share fsyncs, and none returns before its own.

The sync function wraps the real ``os.fdatasync`` and notes the file size when each sync
starts: an append ending at byte E is durable once a sync that started with the file at
least E long has succeeded. Every wait is checked against that, so a change that lets a
save return early (or skips the sync) fails here, not only on a power cut.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import Workspace
from molexp.workspace.group_commit import GroupCommit


class Disk:
    """A real fdatasync that records the file size each successful sync started from."""

    def __init__(self, path: Path, *, gate: threading.Event | None = None) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.gate = gate
        self.started: list[int] = []
        self.durable = 0
        self.lock = threading.Lock()

    def sync(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if self.gate is not None:
            self.gate.wait(timeout=30)
        os.fdatasync(fd)
        with self.lock:
            self.started.append(size)
            self.durable = max(self.durable, size)

    def append(self, commit: GroupCommit, line: bytes) -> int:
        with self.lock:  # the manifest lock's part: one writer at a time
            os.write(self.fd, line)
            end = os.fstat(self.fd).st_size
            commit.written(end)
        return end


def test_threads_waiting_at_once_share_one_sync(tmp_path: Path) -> None:
    gate = threading.Event()
    disk = Disk(tmp_path / "log", gate=gate)
    commit = GroupCommit(disk.fd, sync=disk.sync)
    appended = threading.Barrier(9)
    ends: list[int] = []
    failures: list[str] = []

    def writer(i: int) -> None:
        end = disk.append(commit, f"record {i}\n".encode())
        appended.wait()
        commit.wait(end)
        if disk.durable < end:
            failures.append(f"writer {i} returned at {end} with {disk.durable} durable")
        ends.append(end)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    appended.wait()  # every writer has appended; the first sync may already be waiting
    gate.set()
    for t in threads:
        t.join()
    commit.close()
    os.close(disk.fd)
    assert not failures
    assert len(ends) == 8
    # The first sync may have started before the others appended: at most one more.
    assert commit.syncs <= 2, disk.started


def test_a_sync_started_before_an_append_does_not_cover_it(tmp_path: Path) -> None:
    gate = threading.Event()
    disk = Disk(tmp_path / "log", gate=gate)
    commit = GroupCommit(disk.fd, sync=disk.sync)
    first = disk.append(commit, b"first\n")
    waiting = threading.Thread(target=commit.wait, args=(first,))
    waiting.start()
    while not commit._syncing:  # the first sync is in flight (held at the gate)
        threading.Event().wait(0.001)
    second = disk.append(commit, b"second\n")
    done = threading.Event()

    def second_writer() -> None:
        commit.wait(second)
        done.set()

    threading.Thread(target=second_writer).start()
    gate.set()
    assert done.wait(timeout=30)
    waiting.join()
    # The in-flight sync began at ``first``: ``second`` needed one of its own.
    assert disk.started[0] == first and disk.durable >= second
    assert commit.syncs == 2
    commit.close()
    os.close(disk.fd)


def test_tasks_awaiting_together_share_one_sync(tmp_path: Path) -> None:
    disk = Disk(tmp_path / "log")
    commit = GroupCommit(disk.fd, sync=disk.sync)
    late: list[str] = []

    async def save(i: int) -> None:
        end = disk.append(commit, f"record {i}\n".encode())
        await commit.wait_async(end)
        if disk.durable < end:
            late.append(f"task {i} returned at {end} with {disk.durable} durable")

    async def main() -> None:
        await asyncio.gather(*(save(i) for i in range(50)))
        # A second wave after the first landed: one more sync, not fifty.
        await asyncio.gather(*(save(i) for i in range(50, 100)))

    asyncio.run(main())
    commit.close()
    os.close(disk.fd)
    assert not late
    assert commit.syncs == 2, disk.started


def test_a_failed_sync_fails_every_waiter_it_covered(tmp_path: Path) -> None:
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    commit = GroupCommit(fd, sync=failing)
    os.write(fd, b"lost?\n")
    commit.written(6)

    async def main() -> list[Any]:
        return await asyncio.gather(
            commit.wait_async(6), commit.wait_async(6), return_exceptions=True
        )

    outcomes = asyncio.run(main())
    assert [type(o) for o in outcomes] == [OSError, OSError]
    assert "could not be synced" in str(outcomes[0])
    with pytest.raises(OSError, match="could not be synced"):
        commit.wait(6)  # a later sync proves nothing after a failed write-back
    with pytest.raises(OSError):
        commit.close()
    os.close(fd)


def test_a_cancelled_waiter_leaves_the_others_alone(tmp_path: Path) -> None:
    gate = threading.Event()
    disk = Disk(tmp_path / "log", gate=gate)
    commit = GroupCommit(disk.fd, sync=disk.sync)

    async def main() -> None:
        first = asyncio.create_task(commit.wait_async(disk.append(commit, b"a\n")))
        second = asyncio.create_task(commit.wait_async(disk.append(commit, b"b\n")))
        await asyncio.sleep(0.01)
        first.cancel()
        gate.set()
        await second
        assert first.cancelled()

    asyncio.run(main())
    commit.close()
    os.close(disk.fd)
    assert disk.durable == os.path.getsize(tmp_path / "log")


# -- through a tracked run ---------------------------------------------------------------------


class ManifestSyncs:
    """Counts the fdatasync calls on one manifest (the real call runs) and how many of its
    bytes were durable when each save returned."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self.calls = 0
        self.durable = 0
        self.at_return: dict[str, int] = {}
        self.lock = threading.Lock()  # syncs may run on several threads at once

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = os.fdatasync

        def counting(fd: int) -> None:
            if not os.path.samefile(f"/proc/self/fd/{fd}", self.manifest):
                return real(fd)
            size = os.fstat(fd).st_size
            real(fd)
            with self.lock:
                self.calls += 1
                self.durable = max(self.durable, size)

        monkeypatch.setattr(os, "fdatasync", counting)

    def record_ends(self) -> dict[str, int]:
        """Where each artifact's record ends in the manifest."""
        ends, offset = {}, 0
        for line in self.manifest.read_bytes().splitlines(keepends=True):
            offset += len(line)
            ends[json.loads(line)["name"]] = offset
        return ends


SYNCS: ManifestSyncs | None = None


class Save(Task):
    def __init__(self, i: int, *, awaited: bool) -> None:
        self.i = i
        self.awaited = awaited

    async def execute(self, ctx: TaskContext) -> int:
        assert ctx.artifact is not None
        name, data = f"r/{self.i}.json", {"i": self.i, "energy": -1.5}
        if self.awaited:
            await ctx.artifact.asave(name, data)
        else:
            ctx.artifact.save(name, data)
        if SYNCS is not None:
            SYNCS.at_return[name] = SYNCS.durable
        return self.i


class Root(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 0


def _fan_out(n: int, *, awaited: bool) -> Workflow[Any, Any, Any]:
    wf = Workflow("saves")
    root = wf.add(Root(), name="root")
    for i in range(n):
        wf.add(Save(i, awaited=awaited), after=root, name=f"s{i}")
    return wf


@pytest.mark.parametrize("awaited", [True, False], ids=["asave", "save"])
def test_concurrent_saves_of_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, awaited: bool
) -> None:
    global SYNCS
    n = 100
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.bind_task("setup").artifact.save("first.json", {"ok": True})  # the manifest exists
        SYNCS = syncs = ManifestSyncs(run.path / "manifest.jsonl")
        syncs.install(monkeypatch)
        try:
            result = asyncio.run(
                WorkflowRuntime().execute(_fan_out(n, awaited=awaited), run_context=rc)
            )
        finally:
            SYNCS = None
        result.raise_for_status()
        calls = syncs.calls
    ends = syncs.record_ends()
    early = {k: (ends[k], v) for k, v in syncs.at_return.items() if v < ends[k]}
    assert len(syncs.at_return) == n and not early, f"returned early: {list(early.items())[:3]}"
    for i in range(n):
        asset = run.find_asset(f"r/{i}.json", kind="artifact")
        assert asset is not None and asset.load() == {"i": i, "energy": -1.5}
    assert ws.catalog.count_assets(run=run.id, kind="artifact") == n + 1
    ws.close()
    if awaited:
        assert calls <= n // 4, f"{calls} fsyncs of the manifest for {n} concurrent asaves"
    else:
        # A synchronous save blocks the loop: the tasks never save at the same time.
        assert calls >= n


def test_saves_from_threads_are_each_durable_on_return(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # That overlapping waits share a sync is pinned deterministically above
    # (test_threads_waiting_at_once_share_one_sync); here, through the recorder, every
    # save of every thread returns with its own record covered by a completed fdatasync.
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    per_thread, threads_n = 25, 4
    with run.start() as rc:
        rc.bind_task("setup").artifact.save("first.json", {"ok": True})
        syncs = ManifestSyncs(run.path / "manifest.jsonl")
        syncs.install(monkeypatch)
        start = threading.Barrier(threads_n)

        def saver(t: int) -> None:
            store = rc.bind_task(f"t{t}").artifact
            start.wait()
            for j in range(per_thread):
                name = f"t{t}/{j}.json"
                store.save(name, {"t": t, "j": j})
                with syncs.lock:
                    syncs.at_return[name] = syncs.durable

        workers = [threading.Thread(target=saver, args=(t,)) for t in range(threads_n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert ws.catalog.count_assets(run=run.id, kind="artifact") == per_thread * threads_n + 1
    ws.close()
    ends = syncs.record_ends()
    early = {k: (ends[k], v) for k, v in syncs.at_return.items() if v < ends[k]}
    assert len(syncs.at_return) == per_thread * threads_n
    assert not early, f"returned early: {list(early.items())[:3]}"
    assert 0 < syncs.calls <= per_thread * threads_n
