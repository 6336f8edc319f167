"""Recording in the process that owns (or attached to) the run: files, manifest, index.

Writes are durable when they return: an artifact's file is fsynced (or, when small,
embedded in its record), then its record is appended to the run manifest and indexed while
the manifest is locked against other threads and processes, and fsynced after the lock is
let go, so that saves of other threads (``save``) or tasks (``asave``) share the fsync.
"""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Iterable
from typing import Any

from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    Producer,
    asset_from_record,
)
from molexp.workspace.encoding import Encoded
from molexp.workspace.errors import AssetNameError, RunStateError
from molexp.workspace.group_commit import GroupCommit
from molexp.workspace.layout import ARTIFACTS, CHECKPOINTS, LOGS, ScopeKey
from molexp.workspace.logfiles import LogFile, LogFiles, RemoteLog, monotonic, open_log
from molexp.workspace.manifest import ManifestWriter
from molexp.workspace.recording import (
    StagedRecords,
    check_clash,
    new_log_record,
    new_record,
    plain_result,
)
from molexp.workspace.records import AssetRecord
from molexp.workspace.registration import Registration
from molexp.workspace.storage import (
    link_latest,
    prepare_parent,
    suffix_for,
    version_path,
    write_version,
)
from molexp.workspace.store import RootStore
from molexp.workspace.syncer import INLINE_MAX

__all__ = ["LocalRecorder"]


class LocalRecorder:
    """The ``Recorder`` of a run context in the driver (see ``molexp.workspace.recording``)."""

    staging = False

    def __init__(self, store: RootStore, key: ScopeKey) -> None:
        self._store = store
        self._key = key
        self._run_id = str(key.run_id)
        self._path = key.folder(store.root)
        self._folder = str(self._path)
        self._manifest = store.manifest(key)
        self._run_file = store.runs.file(key)
        self._result_log = store.runs.result_log(key)
        self._manifest.keep_open = True  # many appends ahead: keep the descriptor
        self._logs = LogFiles()
        # Logs that workers append to: their catalog size and line count, kept current.
        self._remote_logs: dict[str, RemoteLog] = {}
        self._remote_logs_synced = 0.0

    def _index(self, writer: ManifestWriter, start: int, records: list[AssetRecord]) -> None:
        try:
            self._store.index.add_records(
                self._key,
                self._manifest.path,
                records,
                start=start,
                end=writer.end,
                inode=writer.inode,
            )
        except Exception as exc:
            self._store.index_failed(exc)

    def save(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        asset, end, commit = self._write(kind, name, encoded, producer, tags, what)
        if commit is not None:
            commit.wait(end)
        return asset

    async def asave(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        asset, end, commit = self._write(kind, name, encoded, producer, tags, what)
        if commit is not None:
            await commit.wait_async(end)
        return asset

    def _write(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> tuple[Asset, int, GroupCommit | None]:
        """Write the file and append the record; (the asset, the manifest end to wait for
        on the group commit before the save is durable (None: it is already): the record's
        fsync is shared with concurrent saves)."""
        store = self._store
        folder = self._folder
        with self._manifest.writer() as writer:
            index = writer.index
            names = index.names.get(kind)
            if names and (name in names or "/" in name or name in index.folders[kind]):
                check_clash(what, kind, name, names, index.folders[kind])
            previous = index.latest(kind, name)
            version = 1 if previous is None else index.next_version(kind, name)
            suffix = suffix_for(encoded, name)
            if kind == "artifact":  # check the latest view's folders before writing anything
                prepare_parent(
                    folder, f"{ARTIFACTS}/{name}", name, fsync=store.fsync, verified=store.verified
                )
                rel = version_path(ARTIFACTS, len(index.records) + 1, name, suffix)
            else:
                rel = f"{CHECKPOINTS}/{name}/{version:06d}{suffix}"
            payload = encoded.payload
            inline = store.fsync and payload is not None and len(payload) <= INLINE_MAX
            target, stored = write_version(
                folder,
                rel,
                encoded,
                name=name,
                fsync=store.fsync and not inline,
                verified=store.verified,
            )
            if kind == "artifact":
                link_latest(
                    folder,
                    target,
                    f"{ARTIFACTS}/{name}",
                    name=name,
                    fsync=store.fsync,
                    verified=store.verified,
                )
            created = _dt.datetime.now(_dt.UTC)
            record = new_record(
                kind,
                name,
                version,
                rel,
                stored,
                encoded,
                producer,
                tags,
                created_at=created.isoformat(),
            )
            if inline:
                assert payload is not None
                if encoded.encoding == "bytes":
                    record["inline_b64"] = base64.b64encode(payload).decode()
                else:
                    record["inline"] = payload.decode()
            previous_id = None
            if kind == "checkpoint":
                previous_id = previous["id"] if previous else None
                record["previous"] = previous_id
            start = writer.end
            # Durable once the caller's wait for ``end`` returns (with the bytes when inline).
            end = writer.append(record, deferred=True)
            commit = writer.commit
            self._index(writer, start, [record])
        if inline:
            store.syncer.submit(target)
        key = self._key
        common: dict[str, Any] = {
            "id": record["id"],
            "name": name,
            "version": version,
            "scope": "run",
            "project": key.project,
            "experiment": key.experiment,
            "run_id": key.run_id,
            "location": target,
            "size": stored.size,
            "sha256": stored.sha256,
            "media_type": encoded.media_type,
            "encoding": encoded.encoding,
            "created_at": created,
            "producer": producer,
            "tags": tuple(tags),
            "type_name": encoded.type_name,
            "confined_to": folder,
        }
        if kind == "checkpoint":
            return CheckpointAsset(previous=previous_id, **common), end, commit
        return ArtifactAsset(**common), end, commit

    # -- reads --------------------------------------------------------------------------------

    def latest(self, kind: str, name: str) -> AssetRecord | None:
        return self._manifest.index().latest(kind, name)

    def versions(self, kind: str, name: str) -> list[AssetRecord]:
        return self._manifest.index().versions(kind, name)

    def names(self, kind: str) -> set[str]:
        return set(self._manifest.index().names.get(kind, set()))

    def find(self, name: str, kind: str | None) -> Asset | None:
        return self._store.find_asset(self._key, name, kind)

    def set_result(self, key: str, value: Any) -> None:
        self._result_log.append({key: value})

    def get_result(self, key: str, default: Any) -> Any:
        results = self._store.runs.results(self._run_file, self._result_log)
        return results[key] if key in results else default

    def results(self) -> dict[str, Any]:
        return self._store.runs.results(self._run_file, self._result_log)

    # -- logs ---------------------------------------------------------------------------------

    def _sync_log(self, asset_id: str, size: int, lines: int) -> bool:
        try:
            self._store.index.update_log(asset_id, size=size, lines=lines)
        except Exception as exc:
            self._store.index_failed(exc)
            return False
        return True

    def log_file(self, name: str, producer: Producer) -> LogFile:
        logs = self._logs
        with logs.lock:
            log_file = logs.open.get(name)
            if log_file is not None:
                return log_file
            rel = f"{LOGS}/{name}.log"
            path = self._path / rel
            with self._manifest.writer() as writer:
                record = writer.index.latest("log", name)
                prepare_parent(
                    self._folder, rel, name, fsync=self._store.fsync, verified=self._store.verified
                )
                fd = open_log(path)
                if record is None:
                    record = new_log_record(name, rel, producer, version=1)
                    start = writer.end
                    writer.append(record)
                    self._index(writer, start, [record])
            log_file = LogFile(
                self._run_id, record, path, fd, fsync=self._store.fsync, sync_to=self._sync_log
            )
            logs.open[name] = log_file
            return log_file

    def _track_remote_logs(self, names: Iterable[str]) -> None:
        index = self._manifest.index()
        for name in names:
            if name in self._remote_logs:
                continue
            record = index.latest("log", name)
            if record is not None:
                path = self._path / record["path"]
                self._remote_logs[name] = RemoteLog(record["id"], path)
        self._sync_remote_logs(force=False)

    def _sync_remote_logs(self, *, force: bool) -> None:
        """Push the size and line count of logs written by workers (at most once a second)."""
        now = monotonic()
        if not self._remote_logs or (not force and now - self._remote_logs_synced < 1.0):
            return
        self._remote_logs_synced = now
        for log in self._remote_logs.values():
            if log.refresh():
                self._sync_log(log.id, log.size, log.lines)

    # -- staged records -------------------------------------------------------------------------

    def take_staged(self) -> StagedRecords:
        raise RunStateError(
            f"run {self._run_id}: take_staged() is for a staging context (RunTicket.open())"
        )

    def register(self, staged: StagedRecords) -> list[Asset]:
        if staged.run_id != self._run_id:
            raise ValueError(
                f"run {self._run_id}: cannot register records staged for run {staged.run_id}"
            )
        registered: list[AssetRecord] = []
        missing: list[str] = []
        clashes: list[str] = []
        if staged.records:
            with self._manifest.writer() as writer:
                registration = Registration(writer, self._folder)
                registration.add_all(staged.records)
                registered = registration.registered
                if registered:
                    start = writer.end
                    writer.append(*registered)
                    self._index(writer, start, registered)
                registration.link_latest(fsync=self._store.fsync, verified=self._store.verified)
            missing, clashes = registration.missing, registration.clashes
        if staged.results:
            plain = {k: plain_result(self._run_id, k, v) for k, v in staged.results.items()}
            self._result_log.append(plain)
        if staged.logs:
            self._track_remote_logs(staged.logs)
        if missing:
            raise RunStateError(
                f"run {self._run_id}: {len(missing)} file(s) written by a worker are not in the "
                f"run folder here ({'; '.join(missing)}); the workspace must be on a "
                "filesystem shared by the driver and the workers"
            )
        if clashes:
            raise AssetNameError(f"run {self._run_id}: {'; '.join(clashes)}")
        return [asset_from_record(r, key=self._key, folder=self._path) for r in registered]

    def close(self) -> None:
        self._logs.close()
        self._manifest.close()
        self._store.syncer.drain()  # every file on disk before the final status is written
        self._sync_remote_logs(force=True)
        try:
            self._store.index.flush()
        except Exception as exc:
            self._store.index_failed(exc)
