"""Recording on a worker process: files into the shared run folder, records kept in memory.

The worker never writes the run manifest or the catalog (SQLite over a network filesystem
is unsafe, and one writer keeps versions and checkpoint chains simple). Each file goes to a
path no other writer can pick (a random token instead of the manifest sequence), so no lock
is needed; the record (``version`` 0) waits for ``take_staged()`` and the driver's
``register``, which assigns the version.
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

from molexp.workspace.assets import Asset, Producer, asset_from_record
from molexp.workspace.encoding import Encoded
from molexp.workspace.errors import RunStateError
from molexp.workspace.layout import ARTIFACTS, CHECKPOINTS, LOGS, ScopeKey
from molexp.workspace.logfiles import LogFile, LogFiles, open_log
from molexp.workspace.names import check_asset_name, parent_folders
from molexp.workspace.recording import StagedRecords, check_clash, new_log_record, new_record
from molexp.workspace.records import AssetRecord
from molexp.workspace.storage import prepare_parent, suffix_for, version_path, write_version
from molexp.workspace.store import RootStore

__all__ = ["StagedRecorder"]


class StagedRecorder:
    """The ``Recorder`` of a worker's run context (see ``molexp.workspace.recording``)."""

    staging = True

    def __init__(self, store: RootStore, key: ScopeKey) -> None:
        self._store = store
        self._key = key
        self._run_id = str(key.run_id)
        self._path = key.folder(store.root)
        self._folder = str(self._path)
        self._manifest = store.manifest(key)
        self._run_file = store.runs.file(key)
        self._result_log = store.runs.result_log(key)
        self._logs = LogFiles()
        self._lock = threading.Lock()
        self._staged: list[AssetRecord] = []
        self._results: dict[str, Any] = {}
        self._touched_logs: dict[str, None] = {}

    def _asset(self, record: AssetRecord) -> Asset:
        return asset_from_record(record, key=self._key, folder=self._path)

    def save(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        store = self._store
        index = self._manifest.index()
        with self._lock:
            staged = [r for r in self._staged if r["kind"] == kind]
        names = index.names.get(kind, set()) | {r["name"] for r in staged}
        folders = set(index.folders.get(kind, set()))
        for done in staged:
            folders.update(parent_folders(done["name"]))
        check_clash(what, kind, name, names, folders)
        token = os.urandom(16).hex()  # the asset id; its first 16 hex name the file
        suffix = suffix_for(encoded, name)
        if kind == "artifact":  # the latest view (artifacts/<name>) is the driver's to make
            rel = version_path(ARTIFACTS, token[:16], name, suffix)
        else:
            rel = f"{CHECKPOINTS}/{name}/{token[:16]}{suffix}"
        _, stored = write_version(
            self._folder, rel, encoded, name=name, fsync=store.fsync, verified=store.verified
        )
        record = new_record(kind, name, 0, rel, stored, encoded, producer, tags, asset_id=token)
        if kind == "checkpoint":
            record["previous"] = None  # linked at registration
        with self._lock:
            self._staged.append(record)
        return self._asset(record)

    async def asave(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        # A worker's file is fsynced on its own and its record waits in memory for the
        # driver: there is no manifest fsync to share.
        return self.save(kind, name, encoded, producer, tags, what)

    # -- reads that also see what was staged -----------------------------------------------------

    def latest(self, kind: str, name: str) -> AssetRecord | None:
        with self._lock:
            for record in reversed(self._staged):
                if record["kind"] == kind and record["name"] == name:
                    return record
        return self._manifest.index().latest(kind, name)

    def versions(self, kind: str, name: str) -> list[AssetRecord]:
        records = self._manifest.index().versions(kind, name)
        with self._lock:
            records += [r for r in self._staged if r["kind"] == kind and r["name"] == name]
        return records

    def names(self, kind: str) -> set[str]:
        names = set(self._manifest.index().names.get(kind, set()))
        with self._lock:
            names.update(r["name"] for r in self._staged if r["kind"] == kind)
        return names

    def find(self, name: str, kind: str | None) -> Asset | None:
        name = check_asset_name(name)
        with self._lock:
            for record in reversed(self._staged):
                if record["name"] == name and (kind is None or record["kind"] == kind):
                    return self._asset(record)
        return self._store.find_asset(self._key, name, kind)

    def set_result(self, key: str, value: Any) -> None:
        with self._lock:
            self._results[key] = value

    def get_result(self, key: str, default: Any) -> Any:
        with self._lock:
            if key in self._results:
                return copy.deepcopy(self._results[key])
        results = self._store.runs.results(self._run_file, self._result_log)
        return results[key] if key in results else default

    def results(self) -> dict[str, Any]:
        results = self._store.runs.results(self._run_file, self._result_log)
        with self._lock:
            results.update(copy.deepcopy(self._results))
        return results

    def log_file(self, name: str, producer: Producer) -> LogFile:
        """A worker appends to the shared file; the log's record (if new) waits for the driver."""
        logs = self._logs
        with logs.lock:
            log_file = logs.open.get(name)
            if log_file is None:
                rel = f"{LOGS}/{name}.log"
                record = self.latest("log", name)
                prepare_parent(
                    self._folder, rel, name, fsync=self._store.fsync, verified=self._store.verified
                )
                path = self._path / rel
                fd = open_log(path)
                if record is None:
                    # version 0: the driver assigns the real one when it registers the record
                    record = new_log_record(name, rel, producer, version=0)
                    with self._lock:
                        self._staged.append(record)
                log_file = LogFile(
                    self._run_id,
                    record,
                    path,
                    fd,
                    fsync=self._store.fsync,
                    sync_to=None,
                    count=False,
                )
                logs.open[name] = log_file
        with self._lock:
            self._touched_logs[name] = None
        return log_file

    def take_staged(self) -> StagedRecords:
        with self._lock:
            staged = StagedRecords(
                run_id=self._run_id,
                records=tuple(self._staged),
                results=dict(self._results),
                logs=tuple(self._touched_logs),
            )
            self._staged, self._results, self._touched_logs = [], {}, {}
        return staged

    def register(self, staged: StagedRecords) -> list[Asset]:
        raise RunStateError(
            f"run {self._run_id}: a staging context cannot register records; "
            "hand them to the driver's run context"
        )

    def close(self) -> None:
        self._logs.close()  # a worker: nothing of the manifest or the catalog is ours
