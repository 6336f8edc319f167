"""RunContext: a started (or attached) run, and its per-task bindings.

``run.start()`` yields a ``RunContext``. The runtime hands it to every ``TaskContext``,
which asks it for a ``TaskRunBinding`` the first time a task uses a run helper. The
binding carries the task's ``Producer`` record (run, experiment, project, task id, workflow,
attempt), so every artifact, log, checkpoint and result is attributed to the task whose
context wrote it, however many tasks run at once. Nothing is shared but the run itself.

Writes are synchronous and durable when they return: an artifact's file is fsynced, then
its record is appended (and fsynced) to the run manifest and indexed in the catalog, all
while the run manifest is locked against other threads and processes.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import os
import threading
import time
import traceback as _traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import attrs

from molexp.profile import ProfileConfig
from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    LogAsset,
    Producer,
    asset_from_record,
    now_iso,
)
from molexp.workspace.atomic import write_all
from molexp.workspace.encoding import Encoded, encode, to_json_value
from molexp.workspace.errors import AssetNameError, RunStateError
from molexp.workspace.layout import ARTIFACTS, CHECKPOINTS, LOGS
from molexp.workspace.manifest import Manifest, ManifestWriter
from molexp.workspace.names import check_asset_name, parent_folders, path_conflict
from molexp.workspace.records import record_problem
from molexp.workspace.staging import RunTicket, StagedRecords
from molexp.workspace.storage import (
    link_latest,
    log_stats,
    prepare_parent,
    version_path,
    write_version,
)
from molexp.workspace.syncer import INLINE_MAX

if TYPE_CHECKING:
    from molexp.workspace.run import Run
    from molexp.workspace.workspace import Workspace

__all__ = ["ArtifactStore", "LogHandle", "RunContext", "RunError", "TaskRunBinding"]

T = TypeVar("T")
_MISSING: Any = object()
_LOG_SYNC_SECONDS = 1.0
_monotonic = time.monotonic


@attrs.frozen
class RunError:
    """Why a run failed or was cancelled: exception type, message, traceback, and the task
    that raised it when known (an exception with a ``task_id`` attribute, such as the
    runtime's ``WorkflowFailed``, or ``rc.fail(..., task_id=...)``)."""

    type: str
    message: str
    traceback: str | None = None
    task_id: str | None = None

    @classmethod
    def from_exception(
        cls, exc: BaseException, tb: str | None = None, *, task_id: str | None = None
    ) -> RunError:
        kind = type(exc)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else (f"{kind.__module__}.{kind.__qualname__}")
        )
        text = tb if tb is not None else "".join(_traceback.format_exception(exc))
        if task_id is None and isinstance(getattr(exc, "task_id", None), str):
            task_id = exc.task_id  # type: ignore[attr-defined]
        return cls(type=name, message=str(exc), traceback=text, task_id=task_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "traceback": self.traceback,
            "task_id": self.task_id,
        }


def _check_tags(tags: Iterable[str], what: str) -> list[str]:
    if isinstance(tags, str):
        raise TypeError(f"{what}: tags must be an iterable of str, not a single str ({tags!r})")
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"{what}: every tag must be a non-empty str, got {tag!r}")
        out.append(tag)
    return out


def _suffix(encoded: Encoded, name: str) -> str:
    if encoded.suffix is not None:  # the stored form's own extension (.json, .npy, .npz)
        return encoded.suffix
    if encoded.encoding == "text":
        return Path(name).suffix or ".txt"
    if encoded.source is not None:
        return Path(name).suffix or encoded.source.suffix
    return Path(name).suffix


class RunContext:
    """A run being executed: the gateway from tasks to the workspace.

    Use its helpers directly (attributed to no task) or through ``bind_task`` (what
    ``TaskContext`` does). Closed when the ``with run.start()`` block ends.
    """

    def __init__(
        self, run: Run, *, attempt: int, config: ProfileConfig, staging: bool = False
    ) -> None:
        self._run = run
        self._ws: Workspace = run.workspace
        self._attempt = attempt
        self._config = config
        self._manifest: Manifest = self._ws._manifest(run.key)
        if not staging:
            self._manifest.keep_open = True  # many appends ahead: keep the descriptor
        self._folder = str(run.path)
        self._logs: dict[str, _LogFile] = {}
        self._logs_lock = threading.Lock()
        self._closed = False
        self._failure: RunError | None = None
        self._failure_status = "failed"  # or "cancelled": see _execution_ended
        self._default = TaskRunBinding(self, self._producer(None, None))
        # Staging (on a worker, see molexp.workspace.staging): records wait in memory.
        self._staging = staging
        self._staged: list[dict[str, Any]] = []
        self._staged_results: dict[str, Any] = {}
        self._staged_logs: dict[str, None] = {}
        self._staged_lock = threading.Lock()
        # Logs that workers append to: their catalog size and line count, kept current.
        self._remote_logs: dict[str, _RemoteLog] = {}
        self._remote_logs_synced = 0.0
        self._ticket: RunTicket | None = None

    # -- identity -------------------------------------------------------------------------

    @property
    def run(self) -> Run:
        return self._run

    @property
    def run_id(self) -> str:
        return self._run.id

    @property
    def path(self) -> Path:
        """The run folder."""
        return self._run.path

    @property
    def workspace(self) -> Workspace:
        return self._ws

    @property
    def config(self) -> ProfileConfig:
        """The profile config the run was started with (empty when none)."""
        return self._config

    @property
    def attempt(self) -> int:
        """1 for the first start of the run, 2 after a restart, ..."""
        return self._attempt

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def staging(self) -> bool:
        """True on a worker's context from ``RunTicket.open()``: records wait for the driver."""
        return self._staging

    def _producer(self, task_id: str | None, workflow: str | None) -> Producer:
        run = self._run
        return Producer(
            run_id=run.id,
            project=run.project_name,
            experiment=run.experiment_name,
            task_id=task_id,
            workflow=workflow,
            attempt=self._attempt,
        )

    def bind_task(self, task_id: str | None, *, workflow: str | None = None) -> TaskRunBinding:
        """The run seen from task ``task_id``: everything it records names that task."""
        return TaskRunBinding(self, self._producer(task_id, workflow))

    # -- recording from other processes (distributed executors) ---------------------------

    def ticket(self) -> RunTicket:
        """What a worker process needs to stage records into this run (picklable).

        On the worker, ``ticket.open()`` is a staging run context; hand its
        ``take_staged()`` back to this context's ``register``. See ``molexp.workspace.staging``.
        """
        self._check_open()
        if self._ticket is None:
            run = self._run
            self._ticket = RunTicket(
                root=str(self._ws.root),
                project=run.project_name,
                experiment=run.experiment_name,
                run_id=run.id,
                attempt=self._attempt,
                fsync=self._ws.fsync,
                config=self._config,
            )
        return self._ticket

    def take_staged(self) -> StagedRecords:
        """Close this staging context and return what it recorded, for ``register``."""
        if not self._staging:
            raise RunStateError(
                f"run {self._run.id}: take_staged() is for a staging context (RunTicket.open())"
            )
        self._close()
        with self._staged_lock:
            staged = StagedRecords(
                run_id=self._run.id,
                records=tuple(self._staged),
                results=dict(self._staged_results),
                logs=tuple(self._staged_logs),
            )
            self._staged, self._staged_results, self._staged_logs = [], {}, {}
        return staged

    def register(self, staged: StagedRecords) -> list[Asset]:
        """Record what a worker staged: manifest records, catalog rows, results.

        Versions (and checkpoint ``previous`` links) are assigned here, in the order the
        worker wrote them, under the manifest lock. Each file must already be in the run
        folder; a missing file (a workspace not shared with the worker) or a name clash is
        reported in one ``RunStateError``/``AssetNameError`` after everything else of
        ``staged`` has been recorded. Returns the registered artifacts and checkpoints (and
        new logs).
        """
        self._check_open()
        if self._staging:
            raise RunStateError(
                f"run {self._run.id}: a staging context cannot register records; "
                "hand them to the driver's run context"
            )
        if staged.run_id != self._run.id:
            raise ValueError(
                f"run {self._run.id}: cannot register records staged for run {staged.run_id}"
            )
        registered: list[dict[str, Any]] = []
        missing: list[str] = []
        clashes: list[str] = []
        if staged.records:
            self._register_records(staged.records, registered, missing, clashes)
        if staged.results:
            self._run._set_results(staged.results)
        if staged.logs:
            self._track_remote_logs(staged.logs)
        if missing:
            raise RunStateError(
                f"run {self._run.id}: {len(missing)} file(s) written by a worker are not in the "
                f"run folder here ({'; '.join(missing)}); the workspace must be on a "
                "filesystem shared by the driver and the workers"
            )
        if clashes:
            raise AssetNameError(f"run {self._run.id}: {'; '.join(clashes)}")
        return [self._asset(r) for r in registered]

    def _register_records(
        self,
        records: Iterable[Mapping[str, Any]],
        registered: list[dict[str, Any]],
        missing: list[str],
        clashes: list[str],
    ) -> None:
        ws = self._ws
        folder = self._folder
        latest_artifacts: dict[str, dict[str, Any]] = {}
        with self._manifest.writer() as writer:
            index = writer.index
            versions: dict[tuple[str, str], int] = {}
            last_id: dict[tuple[str, str], str] = {}
            new_names: dict[str, set[str]] = {}
            new_folders: dict[str, set[str]] = {}
            for staged in records:
                record = dict(staged)
                problem = record_problem(record, staged=True)
                if problem is not None:  # a worker's record is as untrusted as a file's
                    clashes.append(f"a record staged by a worker was refused: {problem}")
                    continue
                kind, name = str(record["kind"]), str(record["name"])
                key = (kind, name)
                if kind == "log":
                    if index.latest("log", name) is None and key not in versions:
                        record["version"] = versions[key] = 1
                        registered.append(record)
                    continue
                if key not in versions:
                    names = index.names.get(kind, set()) | new_names.get(kind, set())
                    folders = index.folders.get(kind, set()) | new_folders.get(kind, set())
                    clash = path_conflict(name, names, folders)
                    if clash is not None:
                        clashes.append(
                            f"{kind} {name!r} (written by a worker) clashes with the existing "
                            f"{kind} {clash!r}; it was not registered"
                        )
                        continue
                if not os.path.isfile(f"{folder}/{record['path']}"):
                    missing.append(f"{kind} {name!r}: {folder}/{record['path']}")
                    continue
                if key in versions:
                    version = versions[key] + 1
                else:
                    version = index.next_version(kind, name)
                    new_names.setdefault(kind, set()).add(name)
                    new_folders.setdefault(kind, set()).update(parent_folders(name))
                record["version"] = versions[key] = version
                if kind == "checkpoint":
                    previous = index.latest(kind, name)
                    record["previous"] = last_id.get(key) or (previous["id"] if previous else None)
                last_id[key] = str(record["id"])
                if kind == "artifact":
                    latest_artifacts[name] = record
                registered.append(record)
            if registered:
                start = writer.end
                writer.append(*registered)
                self._index_written(writer, start, registered)
            for name, record in latest_artifacts.items():
                link_latest(
                    folder,
                    f"{folder}/{record['path']}",
                    f"{ARTIFACTS}/{name}",
                    name=name,
                    fsync=ws.fsync,
                    verified=ws._verified,
                )

    def _track_remote_logs(self, names: Iterable[str]) -> None:
        index = self._manifest.index()
        for name in names:
            if name in self._remote_logs:
                continue
            record = index.latest("log", name)
            if record is not None:
                path = self._run.path / str(record["path"])
                self._remote_logs[name] = _RemoteLog(str(record["id"]), path)
        self._sync_remote_logs(force=False)

    def _sync_remote_logs(self, *, force: bool) -> None:
        """Push the size and line count of logs written by workers (at most once a second)."""
        now = _monotonic()
        if not self._remote_logs or (not force and now - self._remote_logs_synced < 1.0):
            return
        self._remote_logs_synced = now
        for log in self._remote_logs.values():
            if log.refresh():
                try:
                    self._ws.catalog.update_log(log.id, size=log.size, lines=log.lines)
                except Exception as exc:
                    self._ws._catalog_failed(exc)

    # -- run-level helpers (producer: no task) --------------------------------------------

    @property
    def artifact(self) -> ArtifactStore:
        return self._default.artifact

    def log(self, name: str) -> LogHandle:
        return self._default.log(name)

    def checkpoint(self, name: str, *, data: Any, tags: Iterable[str] = ()) -> CheckpointAsset:
        return self._default.checkpoint(name, data=data, tags=tags)

    def latest_checkpoint(self, name: str) -> CheckpointAsset | None:
        return self._default.latest_checkpoint(name)

    @overload
    def load_checkpoint(self, name: str, default: T, *, as_type: type[T]) -> T: ...
    @overload
    def load_checkpoint(self, name: str, *, as_type: type[T]) -> T | None: ...
    @overload
    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[T] | None = None
    ) -> Any: ...
    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[T] | None = None
    ) -> Any:
        return self._default.load_checkpoint(name, default, as_type=as_type)

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        return self._default.find_asset(name, kind)

    def set_result(self, key: str, value: Any) -> None:
        self._default.set_result(key, value)

    def get_result(self, key: str, default: Any = None) -> Any:
        return self._default.get_result(key, default)

    @property
    def results(self) -> dict[str, Any]:
        """A copy of the run's result map."""
        return self._run.results

    def fail(
        self,
        error: BaseException | str,
        *,
        traceback: str | None = None,
        task_id: str | None = None,
    ) -> None:
        """Mark the run failed when its ``with`` block ends, even without an exception.

        ``WorkflowRuntime.execute(..., run_context=rc)`` already does this when the
        workflow fails or is cancelled; ``fail`` is for failures the workflow cannot see
        (a check of its outputs), and replaces what was recorded.
        """
        if isinstance(error, BaseException):
            self._failure = RunError.from_exception(error, traceback, task_id=task_id)
        else:
            self._failure = RunError(
                type="Failure", message=str(error), traceback=traceback, task_id=task_id
            )
        self._failure_status = "failed"

    def _execution_ended(
        self,
        error: BaseException,
        *,
        traceback: str | None = None,
        task_id: str | None = None,
        cancelled: bool = False,
    ) -> None:
        """``WorkflowRuntime.execute`` under this run ended failed (or cancelled): the run
        ends so too, whether or not the caller raises. The first such record is kept;
        ``fail()`` overrides it."""
        if self._failure is None:
            self._failure = RunError.from_exception(error, traceback, task_id=task_id)
            self._failure_status = "cancelled" if cancelled else "failed"

    # -- the write paths --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RunStateError(
                f"run {self._run.id}: its run context is closed (the `with run.start()` "
                "block has ended); start or attach the run again to record more"
            )

    def _index_written(
        self, writer: ManifestWriter, start: int, records: list[dict[str, Any]]
    ) -> None:
        try:
            self._ws.catalog.add_records(
                self._run.key,
                self._manifest.path,
                records,
                start=start,
                end=writer.end,
                inode=writer.inode,
            )
        except Exception as exc:
            self._ws._catalog_failed(exc)

    def _save(
        self,
        kind: str,
        name: str,
        data: Any,
        producer: Producer,
        tags: Iterable[str],
    ) -> Asset:
        self._check_open()
        name = check_asset_name(name, what=kind)
        what = f"{kind} {name!r} of run {self._run.id}"
        tag_list = _check_tags(tags, what) if tags else []
        encoded = encode(data, name=name, what=what)  # before anything is written
        if self._staging:
            return self._stage(kind, name, encoded, producer, tag_list, what)
        ws = self._ws
        folder = self._folder
        with self._manifest.writer() as writer:
            index = writer.index
            names = index.names.get(kind)
            if names and (name in names or "/" in name or name in index.folders[kind]):
                clash = path_conflict(name, names, index.folders[kind])
                if clash is not None:
                    raise AssetNameError(
                        f"{what}: the name clashes with the existing {kind} {clash!r} "
                        "(one cannot be a file and a folder at once)"
                    )
            previous = index.latest(kind, name)
            version = 1 if previous is None else index.next_version(kind, name)
            suffix = _suffix(encoded, name)
            if kind == "artifact":  # check the latest view's folders before writing anything
                prepare_parent(
                    folder, f"{ARTIFACTS}/{name}", name, fsync=ws.fsync, verified=ws._verified
                )
                rel = version_path(ARTIFACTS, len(index.records) + 1, name, suffix)
            else:
                rel = f"{CHECKPOINTS}/{name}/{version:06d}{suffix}"
            payload = encoded.payload
            inline = ws.fsync and payload is not None and len(payload) <= INLINE_MAX
            target, stored = write_version(
                folder,
                rel,
                encoded,
                name=name,
                fsync=ws.fsync and not inline,
                verified=ws._verified,
            )
            if kind == "artifact":
                link_latest(
                    folder,
                    target,
                    f"{ARTIFACTS}/{name}",
                    name=name,
                    fsync=ws.fsync,
                    verified=ws._verified,
                )
            created = _dt.datetime.now(_dt.UTC)
            asset_id = os.urandom(16).hex()
            record: dict[str, Any] = {
                "id": asset_id,
                "kind": kind,
                "name": name,
                "version": version,
                "path": rel,
                "size": stored.size,
                "sha256": stored.sha256,
                "media_type": encoded.media_type,
                "encoding": encoded.encoding,
                "created_at": created.isoformat(),
                "producer": producer.to_dict(),
            }
            if encoded.type_name is not None:
                record["type"] = encoded.type_name
            if tag_list:
                record["tags"] = tag_list
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
            writer.append(record)  # durable here: fsynced, with the bytes when inline
            self._index_written(writer, start, [record])
        if inline:
            ws._syncer.submit(target)
        key = self._run.key
        common: dict[str, Any] = {
            "id": asset_id,
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
            "tags": tuple(tag_list),
            "type_name": encoded.type_name,
            "confined_to": str(self._run.path),
        }
        if kind == "checkpoint":
            return CheckpointAsset(previous=previous_id, **common)
        return ArtifactAsset(**common)

    def _stage(
        self,
        kind: str,
        name: str,
        encoded: Encoded,
        producer: Producer,
        tag_list: list[str],
        what: str,
    ) -> Asset:
        """Write the file of a save on a worker; keep its record for the driver.

        The file goes to a path no other writer can pick (a random token instead of the
        manifest sequence), so no lock is needed; the version is assigned at registration.
        """
        ws = self._ws
        folder = self._folder
        index = self._manifest.index()
        with self._staged_lock:
            staged = [r for r in self._staged if r["kind"] == kind]
        names = index.names.get(kind, set()) | {str(r["name"]) for r in staged}
        folders = set(index.folders.get(kind, set()))
        for done in staged:
            folders.update(parent_folders(str(done["name"])))
        clash = path_conflict(name, names, folders)
        if clash is not None:
            raise AssetNameError(
                f"{what}: the name clashes with the existing {kind} {clash!r} "
                "(one cannot be a file and a folder at once)"
            )
        asset_id = os.urandom(16).hex()
        suffix = _suffix(encoded, name)
        if kind == "artifact":  # the latest view (artifacts/<name>) is the driver's to make
            rel = version_path(ARTIFACTS, asset_id[:16], name, suffix)
        else:
            rel = f"{CHECKPOINTS}/{name}/{asset_id[:16]}{suffix}"
        _, stored = write_version(
            folder, rel, encoded, name=name, fsync=ws.fsync, verified=ws._verified
        )
        record: dict[str, Any] = {
            "id": asset_id,
            "kind": kind,
            "name": name,
            "version": 0,
            "path": rel,
            "size": stored.size,
            "sha256": stored.sha256,
            "media_type": encoded.media_type,
            "encoding": encoded.encoding,
            "created_at": now_iso(),
            "producer": producer.to_dict(),
        }
        if encoded.type_name is not None:
            record["type"] = encoded.type_name
        if tag_list:
            record["tags"] = tag_list
        if kind == "checkpoint":
            record["previous"] = None  # linked at registration
        with self._staged_lock:
            self._staged.append(record)
        return self._asset(record)

    # -- reads that also see what this context staged -----------------------------------------

    def _latest(self, kind: str, name: str) -> dict[str, Any] | None:
        if self._staging:
            with self._staged_lock:
                for i in range(len(self._staged) - 1, -1, -1):
                    record = self._staged[i]
                    if record["kind"] == kind and record["name"] == name:
                        return record
        return self._manifest.index().latest(kind, name)

    def _versions(self, kind: str, name: str) -> list[dict[str, Any]]:
        records = self._manifest.index().versions(kind, name)
        if self._staging:
            with self._staged_lock:
                records += [r for r in self._staged if r["kind"] == kind and r["name"] == name]
        return records

    def _names(self, kind: str) -> set[str]:
        names = set(self._manifest.index().names.get(kind, set()))
        if self._staging:
            with self._staged_lock:
                names.update(str(r["name"]) for r in self._staged if r["kind"] == kind)
        return names

    def _find_asset(self, name: str, kind: str | None) -> Asset | None:
        if self._staging:
            name = check_asset_name(name)
            with self._staged_lock:
                for record in reversed(self._staged):
                    if record["name"] == name and (kind is None or record["kind"] == kind):
                        return self._asset(record)
        return self._ws._find_asset(self._run.key, name, kind)

    def _set_result(self, key: str, value: Any) -> None:
        self._check_open()
        if not self._staging:
            self._run._set_result(key, value)
            return
        if not isinstance(key, str) or not key:
            raise TypeError(f"run {self._run.id}: result keys are non-empty str, got {key!r}")
        plain = to_json_value(value, what=f"result {key!r} of run {self._run.id}")
        with self._staged_lock:
            self._staged_results[key] = plain

    def _get_result(self, key: str, default: Any = None) -> Any:
        if self._staging:
            with self._staged_lock:
                if key in self._staged_results:
                    return copy.deepcopy(self._staged_results[key])
        return self._run._result(key, default)

    def _asset(self, record: dict[str, Any]) -> Asset:
        return asset_from_record(record, key=self._run.key, folder=self._run.path)

    def _log_file(self, name: str, producer: Producer) -> _LogFile:
        self._check_open()
        name = check_asset_name(name, what="log")
        if self._staging:
            return self._staged_log_file(name, producer)
        with self._logs_lock:
            log_file = self._logs.get(name)
            if log_file is not None:
                return log_file
            rel = f"{LOGS}/{name}.log"
            path = self._run.path / rel
            with self._manifest.writer() as writer:
                record = writer.index.latest("log", name)
                prepare_parent(
                    self._folder, rel, name, fsync=self._ws.fsync, verified=self._ws._verified
                )
                fd = _open_log(path)
                if record is None:
                    record = _new_log_record(name, rel, producer, version=1)
                    start = writer.end
                    writer.append(record)
                    self._index_written(writer, start, [record])
            log_file = _LogFile(self, record, path, fd)
            self._logs[name] = log_file
            return log_file

    def _staged_log_file(self, name: str, producer: Producer) -> _LogFile:
        """A worker appends to the shared file; the log's record (if new) waits for the driver."""
        with self._logs_lock:
            log_file = self._logs.get(name)
            if log_file is None:
                rel = f"{LOGS}/{name}.log"
                record = self._latest("log", name)
                prepare_parent(
                    self._folder, rel, name, fsync=self._ws.fsync, verified=self._ws._verified
                )
                path = self._run.path / rel
                fd = _open_log(path)
                if record is None:
                    # version 0: the driver assigns the real one when it registers the record
                    record = _new_log_record(name, rel, producer, version=0)
                    with self._staged_lock:
                        self._staged.append(record)
                log_file = _LogFile(self, record, path, fd, count=False)
                self._logs[name] = log_file
        with self._staged_lock:
            self._staged_logs[name] = None
        return log_file

    def _close(self) -> None:
        """Flush log statistics to the catalog and refuse further writes."""
        with self._logs_lock:
            logs = list(self._logs.values())
            self._logs.clear()
        for log_file in logs:
            log_file.close()
        if self._staging:  # a worker: nothing of the manifest or the catalog is ours
            self._closed = True
            return
        self._manifest.close()
        self._ws._syncer.drain()  # every file on disk before the final status is written
        self._closed = True
        self._sync_remote_logs(force=True)
        try:
            self._ws.catalog.flush()
        except Exception as exc:
            self._ws._catalog_failed(exc)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        if self._staging:
            state += ", staging"
        return f"RunContext(run={self._run.id!r}, attempt={self._attempt}, {state})"


class TaskRunBinding:
    """One task's view of a run; satisfies ``molexp.context.RunBinding``."""

    __slots__ = ("_artifact", "_rc", "producer")

    def __init__(self, rc: RunContext, producer: Producer) -> None:
        self._rc = rc
        self.producer = producer
        self._artifact: ArtifactStore | None = None

    @property
    def run_context(self) -> RunContext:
        return self._rc

    @property
    def artifact(self) -> ArtifactStore:
        """The run's artifacts, saved with this task as producer."""
        if self._artifact is None:
            self._artifact = ArtifactStore(self._rc, self.producer)
        return self._artifact

    def log(self, name: str) -> LogHandle:
        """The handle of ``logs/<name>.log`` (shared file, appends attributed per line count)."""
        return LogHandle(self._rc._log_file(name, self.producer), self.producer)

    def checkpoint(self, name: str, *, data: Any, tags: Iterable[str] = ()) -> CheckpointAsset:
        """Write the next checkpoint of ``name``, chained to the previous one of this run."""
        return cast(CheckpointAsset, self._rc._save("checkpoint", name, data, self.producer, tags))

    def latest_checkpoint(self, name: str) -> CheckpointAsset | None:
        """The newest checkpoint of ``name`` in this run (any attempt, any process)."""
        name = check_asset_name(name, what="checkpoint")
        record = self._rc._latest("checkpoint", name)
        return None if record is None else cast(CheckpointAsset, self._rc._asset(record))

    @overload
    def load_checkpoint(self, name: str, default: T, *, as_type: type[T]) -> T: ...
    @overload
    def load_checkpoint(self, name: str, *, as_type: type[T]) -> T | None: ...
    @overload
    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[T] | None = None
    ) -> Any: ...
    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[T] | None = None
    ) -> Any:
        """The value of the newest checkpoint of ``name``, or ``default`` when there is none."""
        asset = self.latest_checkpoint(name)
        return default if asset is None else asset.load(as_type)

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest ``name`` at the nearest scope: run, experiment, project, workspace."""
        return self._rc._find_asset(name, kind)

    def set_result(self, key: str, value: Any) -> None:
        """Record ``value`` in the run's result map; durable when this returns.

        In a staging context (a worker) it is checked now and written by the driver when
        the task's records are registered.
        """
        self._rc._set_result(key, value)

    def get_result(self, key: str, default: Any = None) -> Any:
        """A result set by any task or process of this run (read from run.json)."""
        return self._rc._get_result(key, default)

    def __repr__(self) -> str:
        return f"TaskRunBinding(run={self.producer.run_id!r}, task={self.producer.task_id!r})"


class ArtifactStore:
    """``ctx.artifact``: save and read back the run's artifacts."""

    __slots__ = ("_producer", "_rc")

    def __init__(self, rc: RunContext, producer: Producer) -> None:
        self._rc = rc
        self._producer = producer

    def save(self, name: str, data: Any, *, tags: Iterable[str] = ()) -> ArtifactAsset:
        """Write ``artifacts/<name>`` (a new version if the name exists) and record it.

        ``data``: bytes, str, pathlib.Path (copied), JSON values, attrs/dataclass
        instances, and values of types with a codec (numpy arrays, ASE ``Atoms``, lists of
        them, registered types; see ``molexp.codecs``). Anything else raises TypeError
        before anything is written.
        """
        return cast(ArtifactAsset, self._rc._save("artifact", name, data, self._producer, tags))

    def get(self, name: str, *, version: int | None = None) -> ArtifactAsset | None:
        """The newest (or the given) version of artifact ``name`` of this run, or None."""
        name = check_asset_name(name, what="artifact")
        if version is None:
            record = self._rc._latest("artifact", name)
        else:
            record = next(
                (r for r in self._rc._versions("artifact", name) if r["version"] == version),
                None,
            )
        return None if record is None else cast(ArtifactAsset, self._rc._asset(record))

    @overload
    def load(self, name: str, *, version: int | None = None) -> Any: ...
    @overload
    def load(self, name: str, *, version: int | None = None, as_type: type[T]) -> T: ...
    def load(self, name: str, *, version: int | None = None, as_type: type[T] | None = None) -> Any:
        """The stored value of artifact ``name``; KeyError naming the run when missing."""
        asset = self.get(name, version=version)
        if asset is None:
            which = "" if version is None else f" version {version}"
            raise KeyError(f"run {self._rc.run_id} has no artifact {name!r}{which}")
        return asset.load(as_type)

    def versions(self, name: str) -> list[ArtifactAsset]:
        """Every version of ``name``, oldest first."""
        name = check_asset_name(name, what="artifact")
        records = self._rc._versions("artifact", name)
        return [cast(ArtifactAsset, self._rc._asset(r)) for r in records]

    def list(self) -> list[ArtifactAsset]:
        """The newest version of every artifact of the run, by name."""
        out = []
        for name in sorted(self._rc._names("artifact")):
            record = self._rc._latest("artifact", name)
            assert record is not None
            out.append(cast(ArtifactAsset, self._rc._asset(record)))
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._rc._latest("artifact", name) is not None


class _LogFile:
    """The shared open descriptor and counters of one log of a run in this process."""

    __slots__ = ("fd", "last_sync", "lines", "lock", "path", "rc", "record", "size", "synced")

    def __init__(
        self, rc: RunContext, record: dict[str, Any], path: Path, fd: int, *, count: bool = True
    ) -> None:
        self.rc = rc
        self.record = record
        self.path = path
        self.fd = fd
        self.lock = threading.Lock()
        size = os.fstat(fd).st_size
        lines = 0
        if size and count:
            with open(path, "rb") as fh:  # an earlier attempt or another process wrote it
                while chunk := fh.read(1 << 20):
                    lines += chunk.count(b"\n")
        self.size = size
        self.lines = lines
        self.last_sync = time.monotonic()
        self.synced = (size, lines)

    def closed_error(self) -> RunStateError:
        return RunStateError(
            f"run {self.rc.run_id}: log {self.record['name']!r} is closed (the run context "
            "has ended)"
        )

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole lines) with one unbuffered write; O(1)."""
        with self.lock:
            fd = self.fd
            if fd < 0:
                raise self.closed_error()
            written = os.write(fd, data)
            if written != len(data):
                write_all(fd, memoryview(data)[written:])
            self.size += len(data)
            self.lines += data.count(b"\n")
            now = time.monotonic()
            if now - self.last_sync < _LOG_SYNC_SECONDS:
                return
            self.last_sync = now
        self.sync()

    def _current(self) -> tuple[int, int]:
        size = os.fstat(self.fd).st_size if self.fd >= 0 else self.size
        if size != self.size:  # another process appends to the same log: count the file
            _, lines = log_stats(self.path.parent, self.path.name)
            return size, lines
        return self.size, self.lines

    def sync(self) -> None:
        if self.rc._staging:
            return  # a worker: the driver refreshes the catalog when it registers the task
        with self.lock:
            current = self._current()
        if current != self.synced:
            try:
                self.rc._ws.catalog.update_log(
                    str(self.record["id"]), size=current[0], lines=current[1]
                )
                self.synced = current
            except Exception as exc:
                self.rc._ws._catalog_failed(exc)

    def close(self) -> None:
        if self.fd < 0:
            return
        self.sync()
        with self.lock:
            if self.rc._ws.fsync:
                os.fdatasync(self.fd)  # appends are unbuffered; make them durable at the end
            os.close(self.fd)
            self.fd = -1


class _RemoteLog:
    """Size and line count of a log that workers append to, read incrementally."""

    __slots__ = ("id", "lines", "path", "size")

    def __init__(self, asset_id: str, path: Path) -> None:
        self.id = asset_id
        self.path = path
        self.size = 0
        self.lines = 0

    def refresh(self) -> bool:
        """Count what was appended since the last call; True when something changed."""
        try:
            with open(self.path, "rb") as fh:
                end = os.fstat(fh.fileno()).st_size
                if end == self.size:
                    return False
                if end < self.size:  # replaced or truncated: count again
                    self.size = self.lines = 0
                fh.seek(self.size)
                while chunk := fh.read(1 << 20):
                    self.size += len(chunk)
                    self.lines += chunk.count(b"\n")
        except FileNotFoundError:
            return False
        return True


class LogHandle:
    """``ctx.log(name)``: O(1) appends to ``logs/<name>.log``.

    Each ``append`` is one unbuffered ``write`` of whole lines, so a crash never loses a
    line that was appended. The ``LogAsset`` in the catalog is kept current (size, line
    count) at most once a second and when the run ends, without rewriting the file.
    """

    __slots__ = ("_file", "producer")

    def __init__(self, log_file: _LogFile, producer: Producer) -> None:
        self._file = log_file
        self.producer = producer

    @property
    def name(self) -> str:
        return str(self._file.record["name"])

    @property
    def path(self) -> Path:
        return self._file.path

    def append(self, line: str) -> None:
        """Append ``line`` (a trailing newline is added when missing)."""
        if not isinstance(line, str):
            raise TypeError(f"log {self.name!r}: append() takes a str, not {type(line).__name__}")
        data = (line if line.endswith("\n") else line + "\n").encode()
        f = self._file  # the hot path of _LogFile.write, inlined
        with f.lock:
            fd = f.fd
            if fd < 0:
                raise f.closed_error()
            written = os.write(fd, data)
            if written != len(data):
                write_all(fd, memoryview(data)[written:])
            f.size += len(data)
            f.lines += data.count(b"\n")
            now = _monotonic()
            if now - f.last_sync < _LOG_SYNC_SECONDS:
                return
            f.last_sync = now
        f.sync()

    def extend(self, lines: Iterable[str]) -> None:
        """Append several lines with one write."""
        parts = []
        for line in lines:
            if not isinstance(line, str):
                raise TypeError(
                    f"log {self.name!r}: extend() takes str lines, not {type(line).__name__}"
                )
            parts.append(line if line.endswith("\n") else line + "\n")
        text = "".join(parts)
        if text:
            self._file.write(text.encode())

    @property
    def line_count(self) -> int:
        return self._file.lines

    @property
    def size(self) -> int:
        return self._file.size

    @property
    def asset(self) -> LogAsset:
        """The log's asset with the current size and line count."""
        base = cast(LogAsset, self._file.rc._asset(self._file.record))
        return attrs.evolve(base, size=self._file.size, line_count=self._file.lines)

    def flush(self) -> None:
        """Push the current size and line count to the catalog now."""
        self._file.sync()

    def __repr__(self) -> str:
        return f"LogHandle({self.name!r}, lines={self.line_count})"


def _open_log(path: Path) -> int:
    """An append-only descriptor (never through a symlink) for unbuffered line writes."""
    return os.open(
        path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644
    )


def _new_log_record(name: str, rel: str, producer: Producer, *, version: int) -> dict[str, Any]:
    return {
        "id": os.urandom(16).hex(),
        "kind": "log",
        "name": name,
        "version": version,
        "path": rel,
        "size": 0,
        "lines": 0,
        "sha256": None,
        "media_type": "text/plain",
        "encoding": "text",
        "created_at": now_iso(),
        "producer": producer.to_dict(),
    }
