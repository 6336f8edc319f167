"""The run files of one workspace root: reading a run's state, and changing it.

Reading is pure: ``live`` reports a run whose owner died as ``interrupted`` without writing
anything. The interruption is recorded by explicit operations only: ``mark_interrupted``
(called by the reconcile when a workspace is opened, before a new attempt starts, and by
``Run.mark_interrupted``), which also restores the run's small files from their records and
removes the temporary files a killed writer left.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from molexp.workspace.atomic import READ_ONLY_ERRNOS, FileLock
from molexp.workspace.index import CatalogIndex
from molexp.workspace.layout import HEARTBEAT, OWNER_LOCK, RESULTS, RUN_LOCK, ScopeKey
from molexp.workspace.liveness import owner_alive
from molexp.workspace.records import RunDocument
from molexp.workspace.recovery import interrupted_document, remove_leftovers, verify_files
from molexp.workspace.results import ResultLog
from molexp.workspace.runfile import RunFile, RunStatus

__all__ = ["RunStates"]

log = logging.getLogger("molexp.workspace")


class RunStates:
    """Reading and changing the ``run.json`` (and ``results.jsonl``) of the runs of a root.

    ``file(key)`` makes a ``RunFile`` (its parsed document cached while the file is
    unchanged) that the caller keeps, as a ``Run`` handle does; its inter-process lock is
    the store's, shared by every ``RunFile`` of that run. Nothing is retained here, so a
    workspace of many runs costs no memory per run it has read.
    """

    def __init__(
        self,
        root: Path,
        index: CatalogIndex,
        lock_for: Callable[[Path], FileLock],
        on_index_error: Callable[[BaseException], None],
        *,
        fsync: bool,
        stale_after: float,
    ) -> None:
        self.root = root
        self.fsync = fsync
        self.stale_after = stale_after
        self._index = index
        self._lock_for = lock_for
        self._on_index_error = on_index_error

    def file(self, key: ScopeKey) -> RunFile:
        lock = self._lock_for(key.folder(self.root) / RUN_LOCK)
        return RunFile(self.root, key, lock, fsync=self.fsync)

    def result_log(self, key: ScopeKey) -> ResultLog:
        return ResultLog(key.folder(self.root) / RESULTS, fsync=self.fsync)

    # -- reading (pure) ---------------------------------------------------------------------

    def owner_alive(self, key: ScopeKey, doc: RunDocument) -> bool:
        folder = key.folder(self.root)
        return owner_alive(
            doc.get("owner"),
            folder / OWNER_LOCK,
            folder / HEARTBEAT,
            stale_after=self.stale_after,
        )

    def dead(self, key: ScopeKey, doc: RunDocument) -> bool:
        """Whether ``doc`` says running while its owner is gone."""
        return doc["status"] == RunStatus.RUNNING.value and not self.owner_alive(key, doc)

    def live(self, run_file: RunFile) -> RunDocument:
        """``run.json`` as it stands, with a dead owner's ``running`` shown as ``interrupted``
        (nothing is written). Shared: copy before changing it."""
        doc = run_file.read()
        if self.dead(run_file.key, doc):
            return interrupted_document(doc, run_file.key.folder(self.root) / HEARTBEAT)
        return doc

    @staticmethod
    def results(run_file: RunFile, result_log: ResultLog) -> dict[str, Any]:
        """run.json's results (runs written before results.jsonl) updated by results.jsonl."""
        results: dict[str, Any] = copy.deepcopy(run_file.read()["results"])
        results.update(result_log.read())
        return results

    # -- writing ------------------------------------------------------------------------------

    def write(self, run_file: RunFile, doc: RunDocument) -> None:
        """Replace run.json atomically and index it (the caller holds the run lock)."""
        signature = run_file.write(doc)
        try:
            self._index.upsert_runs([(run_file.key, doc, signature)])
        except Exception as exc:
            self._on_index_error(exc)

    def update(
        self, run_file: RunFile, change: Callable[[RunDocument], None], *, top_level: bool = False
    ) -> RunDocument:
        """Read-modify-write run.json under the run lock (threads and processes).

        ``change`` gets a copy of the cached document; ``top_level``: it only sets top-level
        keys, so a shallow copy is enough (run.json with a large execution record is copied
        in milliseconds otherwise)."""
        with run_file.lock:
            current = run_file.read()
            # A JSON round trip copies a JSON document faster than deepcopy (C both ways).
            doc: RunDocument = (
                cast(RunDocument, dict(current)) if top_level else json.loads(json.dumps(current))
            )
            change(doc)
            self.write(run_file, doc)
            return doc

    def mark_interrupted(
        self, run_file: RunFile, *, locked: bool = False
    ) -> tuple[RunDocument, bool]:
        """Record a dead owner's run as ``interrupted`` (files verified, temporary files
        removed); (the document, whether it changed). ``locked``: the caller holds the run
        lock. A read-only workspace is left alone: the document says interrupted all the same.
        """
        key = run_file.key
        if not self.dead(key, run_file.read()):
            return run_file.read(), False
        try:
            if locked:
                doc, changed = self._interrupt(run_file)
            else:
                with run_file.lock:  # re-check under the lock: the owner may just have finished
                    doc, changed = self._interrupt(run_file)
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            log.warning("run %s: read-only, shown as interrupted but not recorded", key.run_id)
            return self.live(run_file), False
        if changed:
            try:
                self._index.refresh_logs(str(key.run_id))
            except Exception as exc:
                self._on_index_error(exc)
        return doc, changed

    def _interrupt(self, run_file: RunFile) -> tuple[RunDocument, bool]:
        key = run_file.key
        doc = run_file.read()
        if not self.dead(key, doc):
            return doc, False
        folder = key.folder(self.root)
        doc = interrupted_document(doc, folder / HEARTBEAT)
        try:
            problems = verify_files(folder, repair=True)
        except OSError as exc:
            log.warning("run %s: could not verify its files: %s", key.run_id, exc)
        else:
            for problem in problems:
                log.warning("run %s: restored from its manifest: %s", key.run_id, problem)
        try:
            removed = remove_leftovers(folder)
        except OSError as exc:
            log.warning("run %s: could not remove its temporary files: %s", key.run_id, exc)
        else:
            if removed:
                log.info("run %s: removed %d temporary file(s)", key.run_id, len(removed))
        self.write(run_file, doc)
        return doc, True
