"""RunSession: the ``with run.start()`` / ``with run.attach()`` block around a RunContext.

Entering it as the owner starts a new attempt (recording a dead owner's earlier attempt
``interrupted`` first), takes the run's owner lock and starts the heartbeat; leaving it
closes the context and records the final status from how the block ended.
"""

from __future__ import annotations

import copy
import os
from types import TracebackType
from typing import TYPE_CHECKING

from molexp.profile import ProfileConfig
from molexp.workspace.assets import now_iso
from molexp.workspace.atomic import try_lock
from molexp.workspace.errors import RunStateError
from molexp.workspace.layout import HEARTBEAT, OWNER_LOCK
from molexp.workspace.liveness import Heartbeat, this_host
from molexp.workspace.local_recorder import LocalRecorder
from molexp.workspace.records import RunDocument
from molexp.workspace.run_context import RunContext
from molexp.workspace.runfile import RunError, RunStatus, profile_record

if TYPE_CHECKING:
    from molexp.workspace.run import Run

__all__ = ["RunSession"]


class RunSession:
    """The context manager returned by ``Run.start()`` / ``Run.attach()`` (sync or async)."""

    def __init__(self, run: Run, profile: ProfileConfig, *, owner: bool) -> None:
        self._run = run
        self._store = run.workspace.store
        self._file = self._store.runs.file(run.key)
        self._profile = profile
        self._owner = owner
        self._context: RunContext | None = None
        self._owner_fd: int | None = None
        self._heartbeat: Heartbeat | None = None

    # sync protocol
    def __enter__(self) -> RunContext:
        if self._context is not None:
            raise RunStateError(f"run {self._run.id}: this session was already entered")
        run, store = self._run, self._store
        store.ready()  # reconcile before taking any run or manifest lock
        if not self._owner:
            doc = self._file.read()
            attempt = max(1, int(doc.get("attempt", 0)))
        else:
            attempt = self._begin()
            self._heartbeat = Heartbeat(run.path / HEARTBEAT, store.heartbeat_interval)
            self._heartbeat.start()
        recorder = LocalRecorder(store, run.key)
        self._context = RunContext(run, recorder, attempt=attempt, config=self._profile)
        return self._context

    def _begin(self) -> int:
        run, runs = self._run, self._store.runs
        run_file = self._file
        with run_file.lock:
            doc, _ = runs.mark_interrupted(run_file, locked=True)  # a dead owner's attempt
            status = doc["status"]
            if status == RunStatus.RUNNING.value:
                owner = doc.get("owner")
                raise RunStateError(
                    f"run {run.id} is already running (pid {owner and owner.get('pid')} on "
                    f"{owner and owner.get('host')}); attach() to record into it"
                )
            if status == RunStatus.SUCCEEDED.value:
                raise RunStateError(
                    f"run {run.id} already succeeded; add a new run to run it again"
                )
            fd = try_lock(run.path / OWNER_LOCK)
            if fd is None:
                raise RunStateError(f"run {run.id} is being started by another process")
            try:
                attempt = self._write_attempt(doc)
            except BaseException:
                os.close(fd)
                raise
            self._owner_fd = fd
            return attempt

    def _write_attempt(self, doc: RunDocument) -> int:
        doc = copy.deepcopy(doc)
        started = now_iso()
        attempt = int(doc.get("attempt", 0)) + 1
        owner = this_host().owner_record()
        doc["status"] = RunStatus.RUNNING.value
        doc["attempt"] = attempt
        doc["started_at"] = started
        doc["finished_at"] = None
        doc["error"] = None
        doc["owner"] = owner
        doc["profile"] = profile_record(self._profile)
        doc.setdefault("attempts", []).append(
            {
                "attempt": attempt,
                "status": RunStatus.RUNNING.value,
                "started_at": started,
                "finished_at": None,
                "host": owner["host"],
                "pid": owner["pid"],
                "profile": self._profile.name,
                "config_hash": self._profile.content_hash,
            }
        )
        self._store.runs.write(self._file, doc)
        return attempt

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        context = self._context
        assert context is not None
        try:
            context.close()
            if self._owner:
                self._finish(context, exc)
        finally:
            if self._heartbeat is not None:
                self._heartbeat.stop()
            if self._owner_fd is not None:
                os.close(self._owner_fd)
                self._owner_fd = None

    def _finish(self, context: RunContext, exc: BaseException | None) -> None:
        if exc is None:
            error = context.failure
            status = RunStatus(context.failure_status) if error else RunStatus.SUCCEEDED
        elif isinstance(exc, Exception):
            status, error = RunStatus.FAILED, RunError.from_exception(exc)
        else:  # CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit
            status, error = RunStatus.CANCELLED, RunError.from_exception(exc)
        finished = now_iso()

        def change(doc: RunDocument) -> None:
            doc["status"] = status.value
            doc["finished_at"] = finished
            doc["error"] = None if error is None else error.to_dict()
            attempts = doc.get("attempts")
            if attempts:
                attempts[-1]["status"] = status.value
                attempts[-1]["finished_at"] = finished

        self._store.runs.update(self._file, change)

    # async protocol (the same work; file operations are short)
    async def __aenter__(self) -> RunContext:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
