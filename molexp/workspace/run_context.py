"""RunContext: a started (or attached) run, and its per-task bindings.

``run.start()`` yields a ``RunContext``. The runtime hands it to every ``TaskContext``,
which asks it for a ``TaskRunBinding`` the first time a task uses a run helper. The
binding carries the task's ``Producer`` record (run, experiment, project, task id, workflow,
attempt), so every artifact, log, checkpoint and result is attributed to the task whose
context wrote it, however many tasks run at once. Nothing is shared but the run itself.

What a save, a log or a result does on disk is the business of the context's ``Recorder``
(``molexp.workspace.recording``): written, recorded and indexed here (the owner, or a
process that attached), or written and kept for the driver (a worker's staging context).
"""

from __future__ import annotations

import os
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
)
from molexp.workspace.atomic import write_all
from molexp.workspace.encoding import Encoded, encode
from molexp.workspace.errors import RunStateError
from molexp.workspace.logfiles import LOG_SYNC_SECONDS, LogFile, monotonic
from molexp.workspace.names import check_asset_name, check_tags
from molexp.workspace.recording import Recorder, StagedRecords, plain_result
from molexp.workspace.records import AssetRecord
from molexp.workspace.runfile import RunError

if TYPE_CHECKING:
    from molexp.workspace.run import Run
    from molexp.workspace.staging import RunTicket
    from molexp.workspace.workspace import Workspace

__all__ = ["ArtifactStore", "LogHandle", "RunContext", "RunError", "TaskRunBinding"]

T = TypeVar("T")


class RunContext:
    """A run being executed: the gateway from tasks to the workspace.

    Use its helpers directly (attributed to no task) or through ``bind_task`` (what
    ``TaskContext`` does). Closed when the ``with run.start()`` block ends.
    """

    def __init__(
        self, run: Run, recorder: Recorder, *, attempt: int, config: ProfileConfig
    ) -> None:
        self._run = run
        self._recorder = recorder
        self._attempt = attempt
        self._config = config
        self._closed = False
        self._failure: RunError | None = None
        self._failure_status = "failed"  # or "cancelled": see execution_ended
        self._ticket: RunTicket | None = None
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
        return self._run.workspace

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
        return self._recorder.staging

    @property
    def failure(self) -> RunError | None:
        """What ``fail()`` recorded (None when it was not called)."""
        return self._failure

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
            self._ticket = self.workspace.ticket(
                self._run.key, attempt=self._attempt, config=self._config
            )
        return self._ticket

    def take_staged(self) -> StagedRecords:
        """Close this staging context and return what it recorded, for ``register``."""
        if not self.staging:
            return self._recorder.take_staged()  # the error naming the run
        self.close()
        return self._recorder.take_staged()

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
        return self._recorder.register(staged)

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

    @property
    def failure_status(self) -> str:
        """``failed``, or ``cancelled`` when ``execution_ended`` recorded a cancellation."""
        return self._failure_status

    def execution_ended(
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

    def close(self) -> None:
        """Flush logs, small files and index records, and refuse further writes (done when
        the run's ``with`` block ends)."""
        if self._closed:
            return
        self._closed = True
        self._recorder.close()

    # -- what bindings and stores call -----------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RunStateError(
                f"run {self._run.id}: its run context is closed (the `with run.start()` "
                "block has ended); start or attach the run again to record more"
            )

    def _checked(
        self, kind: str, name: str, data: Any, tags: Iterable[str]
    ) -> tuple[str, Encoded, list[str], str]:
        """What a save needs, checked and encoded before anything is written:
        (name, encoded data, tags, how errors name it)."""
        self._check_open()
        name = check_asset_name(name, what=kind)
        what = f"{kind} {name!r} of run {self._run.id}"
        tag_list = check_tags(tags, what) if tags else []
        return name, encode(data, name=name, what=what), tag_list, what

    def _save(
        self, kind: str, name: str, data: Any, producer: Producer, tags: Iterable[str]
    ) -> Asset:
        name, encoded, tag_list, what = self._checked(kind, name, data, tags)
        return self._recorder.save(kind, name, encoded, producer, tag_list, what)

    async def _asave(
        self, kind: str, name: str, data: Any, producer: Producer, tags: Iterable[str]
    ) -> Asset:
        name, encoded, tag_list, what = self._checked(kind, name, data, tags)
        return await self._recorder.asave(kind, name, encoded, producer, tag_list, what)

    def _latest(self, kind: str, name: str) -> AssetRecord | None:
        return self._recorder.latest(kind, name)

    def _versions(self, kind: str, name: str) -> list[AssetRecord]:
        return self._recorder.versions(kind, name)

    def _names(self, kind: str) -> set[str]:
        return self._recorder.names(kind)

    def _find_asset(self, name: str, kind: str | None) -> Asset | None:
        return self._recorder.find(name, kind)

    def _set_result(self, key: str, value: Any) -> None:
        self._check_open()
        self._recorder.set_result(key, plain_result(self._run.id, key, value))

    def _get_result(self, key: str, default: Any = None) -> Any:
        return self._recorder.get_result(key, default)

    def _asset(self, record: AssetRecord) -> Asset:
        return asset_from_record(record, key=self._run.key, folder=self._run.path)

    def _log_file(self, name: str, producer: Producer) -> LogFile:
        self._check_open()
        name = check_asset_name(name, what="log")
        return self._recorder.log_file(name, producer)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        if self.staging:
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
        return LogHandle(self._rc._log_file(name, self.producer), self._rc, self.producer)

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

    async def asave(self, name: str, data: Any, *, tags: Iterable[str] = ()) -> ArtifactAsset:
        """``save`` for a task body: durable when the await returns, like ``save``, but the
        event loop runs other tasks while the record is fsynced, and saves of tasks running
        at the same time share one fsync (group commit). The file is written before the
        first suspension, so the artifact is visible to reads in this process at once.
        """
        asset = await self._rc._asave("artifact", name, data, self._producer, tags)
        return cast(ArtifactAsset, asset)

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


class LogHandle:
    """``ctx.log(name)``: O(1) appends to ``logs/<name>.log``.

    Each ``append`` is one unbuffered ``write`` of whole lines, so a crash never loses a
    line that was appended. The ``LogAsset`` in the catalog is kept current (size, line
    count) at most once a second and when the run ends, without rewriting the file.
    """

    __slots__ = ("_file", "_rc", "producer")

    def __init__(self, log_file: LogFile, rc: RunContext, producer: Producer) -> None:
        self._file = log_file
        self._rc = rc  # builds the asset when asked: a task that only appends never needs it
        self.producer = producer

    @property
    def name(self) -> str:
        return self._file.name

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
            now = monotonic()
            if now - f.last_sync < LOG_SYNC_SECONDS:
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
        asset = cast(LogAsset, self._rc._asset(self._file.record))
        return attrs.evolve(asset, size=self._file.size, line_count=self._file.lines)

    def flush(self) -> None:
        """Push the current size and line count to the catalog now."""
        self._file.sync()

    def __repr__(self) -> str:
        return f"LogHandle({self.name!r}, lines={self.line_count})"
