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
import datetime as _dt
import os
import threading
import time
import traceback as _traceback
from collections.abc import Iterable
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
from molexp.workspace.encoding import Encoded, encode
from molexp.workspace.errors import AssetNameError, RunStateError
from molexp.workspace.layout import ARTIFACTS, CHECKPOINTS, LOGS
from molexp.workspace.manifest import Manifest, ManifestWriter
from molexp.workspace.names import check_asset_name, path_conflict
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
    if encoded.encoding == "json":
        return ".json"
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

    def __init__(self, run: Run, *, attempt: int, config: ProfileConfig) -> None:
        self._run = run
        self._ws: Workspace = run.workspace
        self._attempt = attempt
        self._config = config
        self._manifest: Manifest = self._ws._manifest(run.key)
        self._manifest.keep_open = True  # many appends ahead: keep the descriptor
        self._folder = str(run.path)
        self._logs: dict[str, _LogFile] = {}
        self._logs_lock = threading.Lock()
        self._closed = False
        self._failure: RunError | None = None
        self._default = TaskRunBinding(self, self._producer(None, None))

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

        For example after ``result = await runtime.execute(...)`` returned a failed
        ``WorkflowResult``: ``rc.fail(result.failure.exception)`` (or call
        ``result.raise_for_status()`` inside the block).
        """
        if isinstance(error, BaseException):
            self._failure = RunError.from_exception(error, traceback, task_id=task_id)
        else:
            self._failure = RunError(
                type="Failure", message=str(error), traceback=traceback, task_id=task_id
            )

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
        }
        if kind == "checkpoint":
            return CheckpointAsset(previous=previous_id, **common)
        return ArtifactAsset(**common)

    def _asset(self, record: dict[str, Any]) -> Asset:
        return asset_from_record(record, key=self._run.key, folder=self._run.path)

    def _log_file(self, name: str, producer: Producer) -> _LogFile:
        self._check_open()
        name = check_asset_name(name, what="log")
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
                fd = os.open(
                    path,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW,
                    0o644,
                )
                if record is None:
                    record = {
                        "id": os.urandom(16).hex(),
                        "kind": "log",
                        "name": name,
                        "version": 1,
                        "path": rel,
                        "size": 0,
                        "lines": 0,
                        "sha256": None,
                        "media_type": "text/plain",
                        "encoding": "text",
                        "created_at": now_iso(),
                        "producer": producer.to_dict(),
                    }
                    start = writer.end
                    writer.append(record)
                    self._index_written(writer, start, [record])
            log_file = _LogFile(self, record, path, fd)
            self._logs[name] = log_file
            return log_file

    def _close(self) -> None:
        """Flush log statistics to the catalog and refuse further writes."""
        with self._logs_lock:
            logs = list(self._logs.values())
            self._logs.clear()
        for log_file in logs:
            log_file.close()
        self._manifest.close()
        self._ws._syncer.drain()  # every file on disk before the final status is written
        self._closed = True
        try:
            self._ws.catalog.flush()
        except Exception as exc:
            self._ws._catalog_failed(exc)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
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
        record = self._rc._manifest.index().latest("checkpoint", name)
        return None if record is None else cast(CheckpointAsset, self._rc._asset(record))

    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[T] | None = None
    ) -> Any:
        """The value of the newest checkpoint of ``name``, or ``default`` when there is none."""
        asset = self.latest_checkpoint(name)
        return default if asset is None else asset.load(as_type)

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest ``name`` at the nearest scope: run, experiment, project, workspace."""
        return self._rc._ws._find_asset(self._rc._run.key, name, kind)

    def set_result(self, key: str, value: Any) -> None:
        """Record ``value`` in the run's result map; durable when this returns."""
        self._rc._check_open()
        self._rc._run._set_result(key, value)

    def get_result(self, key: str, default: Any = None) -> Any:
        """A result set by any task or process of this run (read from run.json)."""
        return self._rc._run._result(key, default)

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
        instances. Anything else raises TypeError before anything is written.
        """
        return cast(ArtifactAsset, self._rc._save("artifact", name, data, self._producer, tags))

    def get(self, name: str, *, version: int | None = None) -> ArtifactAsset | None:
        """The newest (or the given) version of artifact ``name`` of this run, or None."""
        name = check_asset_name(name, what="artifact")
        index = self._rc._manifest.index()
        if version is None:
            record = index.latest("artifact", name)
        else:
            record = next(
                (r for r in index.versions("artifact", name) if r["version"] == version), None
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
        records = self._rc._manifest.index().versions("artifact", name)
        return [cast(ArtifactAsset, self._rc._asset(r)) for r in records]

    def list(self) -> list[ArtifactAsset]:
        """The newest version of every artifact of the run, by name."""
        index = self._rc._manifest.index()
        names = sorted(index.names.get("artifact", set()))
        out = []
        for name in names:
            record = index.latest("artifact", name)
            assert record is not None
            out.append(cast(ArtifactAsset, self._rc._asset(record)))
        return out

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str)
            and self._rc._manifest.index().latest("artifact", name) is not None
        )


class _LogFile:
    """The shared open descriptor and counters of one log of a run in this process."""

    __slots__ = ("fd", "last_sync", "lines", "lock", "path", "rc", "record", "size", "synced")

    def __init__(self, rc: RunContext, record: dict[str, Any], path: Path, fd: int) -> None:
        self.rc = rc
        self.record = record
        self.path = path
        self.fd = fd
        self.lock = threading.Lock()
        size = os.fstat(fd).st_size
        lines = 0
        if size:
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
            _, lines = log_stats(self.path)
            return size, lines
        return self.size, self.lines

    def sync(self) -> None:
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
