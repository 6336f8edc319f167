"""Run: one tracked execution inside an experiment, and its lifecycle.

A run's folder is self-describing: ``run.json`` holds its identity, params, profile
(name, resolved config, content hash), timestamps, status, result map and error, and
``manifest.jsonl`` every asset record. ``run.json`` is only ever replaced atomically, under
the run's inter-process lock, and re-read before each change, so concurrent writers (the
owner and attached workers) never lose each other's results.

Lifecycle: ``pending`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``, and
``interrupted`` when the owning process died while running (detected whenever the run is
read: see ``molexp.workspace.liveness``). A failed, cancelled or interrupted run can be
started again: a new attempt, continuing its manifest (checkpoint chains included).
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import enum
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from molexp.profile import ProfileConfig
from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    LogAsset,
    asset_from_record,
    now_iso,
)
from molexp.workspace.atomic import (
    READ_ONLY_ERRNOS,
    atomic_write_bytes,
    atomic_write_json,
    try_lock,
)
from molexp.workspace.encoding import to_json_value
from molexp.workspace.errors import (
    AssetNameError,
    CorruptRunError,
    RunNotFoundError,
    RunStateError,
)
from molexp.workspace.layout import (
    ARTIFACTS,
    HEARTBEAT,
    MANIFEST,
    OWNER_LOCK,
    RESULTS,
    RUN_JSON,
    RUN_LOCK,
    ScopeKey,
)
from molexp.workspace.liveness import Heartbeat, owner_alive, this_host
from molexp.workspace.manifest import read_records
from molexp.workspace.records import run_document_problem
from molexp.workspace.results import ResultLog
from molexp.workspace.run_context import RunContext, RunError
from molexp.workspace.storage import (
    current_record,
    link_latest,
    open_confined,
    prepare_parent,
    read_confined,
)

if TYPE_CHECKING:
    from molexp.workspace.hierarchy import Experiment
    from molexp.workspace.workspace import Workspace

__all__ = ["Run", "RunSession", "RunStatus"]

T = TypeVar("T")
log = logging.getLogger("molexp.workspace")
RUN_FORMAT = "molexp.run/1"
# Temporary files of an interrupted write: storage's ``.<file>.partial``, atomic_write's
# ``.<file>.<pid>.<8 hex>.tmp`` and link_latest's ``.<file>.<8 hex>.tmp``.
_LEFTOVER = re.compile(r"\..+\.(partial|([0-9]+\.)?[0-9a-f]{8}\.tmp)")


class RunStatus(str, enum.Enum):
    """Where a run is in its lifecycle (compares equal to its string value)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


def _profile_record(profile: ProfileConfig) -> dict[str, Any]:
    return {"name": profile.name, "config": profile.to_json(), "hash": profile.content_hash}


def new_run_document(
    run_id: str, project: str, experiment: str, params: Mapping[str, Any], tags: list[str]
) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT,
        "run_id": run_id,
        "project": project,
        "experiment": experiment,
        "status": RunStatus.PENDING.value,
        "params": dict(params),
        "tags": tags,
        "profile": None,
        "created_at": now_iso(),
        "started_at": None,
        "finished_at": None,
        "attempt": 0,
        "attempts": [],
        "owner": None,
        "results": {},
        "error": None,
    }


class Run:
    """A handle on one run folder; reads ``run.json`` on demand (cheap, stat-validated)."""

    def __init__(self, workspace: Workspace, key: ScopeKey) -> None:
        assert key.scope == "run" and key.run_id and key.project and key.experiment
        self._ws = workspace
        self.key = key
        self.id: str = key.run_id
        self.project_name: str = key.project
        self.experiment_name: str = key.experiment
        self.path: Path = key.folder(workspace.root)
        self._lock = workspace._lock_for(self.path / RUN_LOCK)
        self._cache: tuple[str, dict[str, Any]] | None = None
        self._results = ResultLog(self.path / RESULTS, fsync=workspace.fsync)

    # -- identity ---------------------------------------------------------------------------

    @property
    def workspace(self) -> Workspace:
        return self._ws

    @property
    def experiment(self) -> Experiment:
        return self._ws.project(self.project_name).experiment(self.experiment_name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and (self._ws.root, self.key) == (other._ws.root, other.key)

    def __hash__(self) -> int:
        return hash((self._ws.root, self.key))

    def __repr__(self) -> str:
        return f"Run({self.project_name}/{self.experiment_name}/{self.id})"

    # -- run.json ---------------------------------------------------------------------------

    @property
    def _file(self) -> Path:
        return self.path / RUN_JSON

    def _signature(self) -> str | None:
        try:
            st = os.stat(self._file)
        except FileNotFoundError:
            return None
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"

    def _read(self) -> dict[str, Any]:
        """The current ``run.json`` (cached while its stat signature is unchanged)."""
        signature = self._signature()
        if signature is None:
            raise RunNotFoundError(
                f"run {self.id!r} not found: {self._file} does not exist "
                f"(experiment {self.project_name}/{self.experiment_name} of {self._ws.root})"
            )
        if self._cache is not None and self._cache[0] == signature:
            return self._cache[1]
        try:
            doc = json.loads(read_confined(self.path, RUN_JSON))
        except FileNotFoundError:
            raise RunNotFoundError(f"run {self.id!r} not found: {self._file} vanished") from None
        except AssetNameError as exc:
            raise CorruptRunError(f"run {self.id}: {exc}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptRunError(
                f"run {self.id}: {self._file} is not valid JSON ({exc}); nothing was changed. "
                "Restore the file, or move the run folder out of the workspace"
            ) from exc
        problem = run_document_problem(doc)
        if problem is not None:
            raise CorruptRunError(f"run {self.id}: {self._file}: {problem}; nothing was changed")
        assert isinstance(doc, dict)
        self._cache = (signature, doc)
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        """Replace run.json atomically and index it (caller holds the run lock)."""
        atomic_write_json(self._file, doc, fsync=self._ws.fsync)
        signature = self._signature()
        if signature is not None:
            self._cache = (signature, doc)
        try:
            self._ws.catalog.upsert_run(self, doc, signature)
        except Exception as exc:
            self._ws._catalog_failed(exc)

    def _update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read-modify-write run.json under the run lock (threads and processes)."""
        with self._lock:
            doc = copy.deepcopy(self._read())
            change(doc)
            self._write(doc)
            return doc

    # -- liveness -----------------------------------------------------------------------------

    def _owner_alive(self, doc: Mapping[str, Any]) -> bool:
        return owner_alive(
            doc.get("owner"),
            self.path / OWNER_LOCK,
            self.path / HEARTBEAT,
            stale_after=self._ws.stale_after,
        )

    def _live(self, *, locked: bool = False) -> dict[str, Any]:
        """run.json, with a dead owner's ``running`` turned into ``interrupted`` (persisted).

        ``locked``: the caller already holds the run lock.
        """
        doc = self._read()
        if doc["status"] != RunStatus.RUNNING.value or self._owner_alive(doc):
            return doc
        try:
            if locked:
                doc = self._interrupt()
            else:
                with self._lock:  # re-check under the lock: the owner may just have finished
                    doc = self._interrupt()
        except OSError as exc:
            if exc.errno not in READ_ONLY_ERRNOS:
                raise
            log.warning("run %s: read-only, shown as interrupted but not recorded", self.id)
            return self._interrupted(doc)
        try:
            self._ws.catalog.refresh_logs(self.id)
        except Exception as exc:
            self._ws._catalog_failed(exc)
        return doc

    def _interrupted(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``doc`` saying the run was interrupted at its last heartbeat."""
        doc = copy.deepcopy(doc)
        try:
            last_beat = os.stat(self.path / HEARTBEAT).st_mtime
            finished = _dt.datetime.fromtimestamp(last_beat, _dt.UTC).isoformat()
        except FileNotFoundError:
            finished = now_iso()
        doc["status"] = RunStatus.INTERRUPTED.value
        doc["finished_at"] = finished
        if doc.get("attempts"):
            doc["attempts"][-1].update(status=RunStatus.INTERRUPTED.value, finished_at=finished)
        return doc

    def _interrupt(self) -> dict[str, Any]:
        doc = self._read()
        if doc["status"] != RunStatus.RUNNING.value or self._owner_alive(doc):
            return doc
        doc = self._interrupted(doc)
        try:
            problems = self.verify_files(repair=True)
        except OSError as exc:
            log.warning("run %s: could not verify its files: %s", self.id, exc)
        else:
            for problem in problems:
                log.warning("run %s: restored from its manifest: %s", self.id, problem)
        try:
            removed = self._remove_leftovers()
        except OSError as exc:
            log.warning("run %s: could not remove its temporary files: %s", self.id, exc)
        else:
            if removed:
                log.info("run %s: removed %d temporary file(s)", self.id, len(removed))
        self._write(doc)
        return doc

    def _remove_leftovers(self) -> list[str]:
        """Delete the temporary files a killed writer left in the run folder; their paths.

        Only molexp's own patterns (``.<file>.partial``, ``.<file>[.<pid>].<8 hex>.tmp``),
        never a file a manifest record points at, never through a symbolic link. Done when
        a run is found interrupted; a running run's files are not touched.
        """
        records, _, _ = read_records(self.path / MANIFEST)
        recorded = {str(r.get("path")) for r in records}
        recorded |= {f"{ARTIFACTS}/{r['name']}" for r in records if r["kind"] == "artifact"}
        removed = []
        for folder, dirs, files in os.walk(self.path):  # never follows links
            rel_folder = os.path.relpath(folder, self.path)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                if not _LEFTOVER.fullmatch(name):
                    continue
                rel = name if rel_folder == "." else f"{rel_folder}/{name}"
                path = os.path.join(folder, name)
                if rel in recorded or not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                os.unlink(path)
                removed.append(rel)
        return removed

    def verify_files(self, *, repair: bool = True) -> list[str]:
        """Check every small artifact/checkpoint file against its manifest record.

        Small payloads are durable through their record (see ``molexp.workspace.syncer``);
        after a power loss their file may be missing or short. With ``repair`` such files are
        rewritten from the record, and ``artifacts/<name>`` re-pointed at the newest version.
        Returns a description of each file that was wrong. Done automatically when a run is
        found interrupted.
        """
        records, _, _ = read_records(self.path / MANIFEST)
        problems: list[str] = []
        latest: dict[str, dict[str, Any]] = {}
        for record in records:
            kind = record.get("kind")
            if kind == "artifact":
                latest[str(record["name"])] = record
            if kind not in ("artifact", "checkpoint") or "path" not in record:
                continue
            if "inline" in record:
                data = str(record["inline"]).encode()
            elif "inline_b64" in record:
                data = base64.b64decode(record["inline_b64"])
            else:
                continue  # fsynced before its record was written
            rel = str(record["path"])  # checked by the manifest reader: inside its area
            path = self.path / rel
            try:
                ok = read_confined(self.path, rel) == data
            except AssetNameError as exc:
                problems.append(f"{kind} {record['name']!r}: {exc}; not repaired")
                continue
            except OSError:
                ok = False
            if ok:
                continue
            problems.append(f"{kind} {record['name']!r} version {record['version']}: {path}")
            if repair:
                prepare_parent(
                    str(self.path),
                    str(record["path"]),
                    str(record["name"]),
                    fsync=True,
                    verified=set(),
                )
                atomic_write_bytes(path, data, fsync=True)
        for name, record in latest.items():
            version = self.path / str(record["path"])
            view = self.path / ARTIFACTS / name
            try:
                fd = open_confined(self.path, str(record["path"]))
            except (OSError, AssetNameError):
                continue  # missing, or not a file inside the run: never linked into view
            with os.fdopen(fd, "rb") as fh:
                is_file = stat.S_ISREG(os.fstat(fd).st_mode)
                data = fh.read() if is_file else b""
            try:
                same = (
                    os.path.samefile(version, view)
                    or read_confined(self.path, f"{ARTIFACTS}/{name}") == data
                )
            except (OSError, AssetNameError):
                same = False
            if not same and is_file:
                problems.append(f"artifact {name!r}: {view} is not its newest version")
                if repair:
                    link_latest(
                        str(self.path),
                        str(version),
                        f"{ARTIFACTS}/{name}",
                        name=name,
                        fsync=True,
                        verified=set(),
                    )
        return problems

    # -- what users read -----------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """A copy of run.json (with the live status and every result set so far)."""
        doc = copy.deepcopy(self._live())
        doc["results"].update(self._results.read())
        return doc

    @property
    def exists(self) -> bool:
        return self._file.exists()

    @property
    def status(self) -> RunStatus:
        return RunStatus(self._live()["status"])

    @property
    def params(self) -> dict[str, Any]:
        return copy.deepcopy(self._read()["params"])

    @property
    def results(self) -> dict[str, Any]:
        """The result map (every ``set_result`` so far, durable)."""
        return self._all_results()

    def _all_results(self) -> dict[str, Any]:
        """run.json's results (runs written before results.jsonl) updated by results.jsonl."""
        results: dict[str, Any] = copy.deepcopy(self._read()["results"])
        results.update(self._results.read())
        return results

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._read().get("tags", ()))

    @property
    def attempt(self) -> int:
        return int(self._read().get("attempt", 0))

    @property
    def profile(self) -> str | None:
        """The name of the profile of the latest attempt (None: no or unnamed profile)."""
        profile = self._read().get("profile")
        return None if not profile else profile.get("name")

    @property
    def config(self) -> ProfileConfig:
        """The resolved config of the latest attempt (empty when none)."""
        profile = self._read().get("profile")
        if not profile:
            return ProfileConfig()
        return ProfileConfig(profile.get("config") or {}, name=profile.get("name"))

    @property
    def config_hash(self) -> str | None:
        profile = self._read().get("profile")
        return None if not profile else profile.get("hash")

    @property
    def error(self) -> RunError | None:
        """Type, message and traceback of what ended a failed or cancelled run."""
        error = self._read().get("error")
        if not error:
            return None
        return RunError(
            type=str(error.get("type")),
            message=str(error.get("message")),
            traceback=error.get("traceback"),
            task_id=error.get("task_id"),
        )

    def _time(self, key: str) -> _dt.datetime | None:
        value = self._read().get(key)
        return None if not value else _dt.datetime.fromisoformat(value)

    @property
    def created_at(self) -> _dt.datetime | None:
        return self._time("created_at")

    @property
    def started_at(self) -> _dt.datetime | None:
        return self._time("started_at")

    @property
    def finished_at(self) -> _dt.datetime | None:
        return self._time("finished_at")

    # -- assets --------------------------------------------------------------------------------

    @overload
    def assets(self, kind: Literal["artifact"]) -> list[ArtifactAsset]: ...
    @overload
    def assets(self, kind: Literal["log"]) -> list[LogAsset]: ...
    @overload
    def assets(self, kind: Literal["checkpoint"]) -> list[CheckpointAsset]: ...
    @overload
    def assets(self, kind: str | None = None) -> list[Asset]: ...
    def assets(self, kind: str | None = None) -> list[Any]:
        """Every asset record of this run, in the order written (from its manifest)."""
        index = self._ws._manifest(self.key).index()
        records = index.records if kind is None else [r for r in index.records if r["kind"] == kind]
        return [
            asset_from_record(current_record(r, self.path), key=self.key, folder=self.path)
            for r in records
        ]

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest ``name`` at the nearest scope: this run, its experiment, project, workspace."""
        return self._ws._find_asset(self.key, name, kind)

    def latest_checkpoint(self, name: str) -> CheckpointAsset | None:
        record = self._ws._manifest(self.key).index().latest("checkpoint", name)
        if record is None:
            return None
        asset = asset_from_record(record, key=self.key, folder=self.path)
        assert isinstance(asset, CheckpointAsset)
        return asset

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
        asset = self.latest_checkpoint(name)
        return default if asset is None else asset.load(as_type)

    # -- results (used by RunContext) ---------------------------------------------------------

    def _result(self, key: str, default: Any = None) -> Any:
        results = self._all_results()
        return results[key] if key in results else default

    def _set_result(self, key: str, value: Any) -> None:
        self._set_results({key: value})

    def _set_results(self, values: Mapping[str, Any]) -> None:
        """Append several results to results.jsonl with one durable write (in order)."""
        plain = {}
        for key, value in values.items():
            if not isinstance(key, str) or not key:
                raise TypeError(f"run {self.id}: result keys are non-empty str, got {key!r}")
            plain[key] = to_json_value(value, what=f"result {key!r} of run {self.id}")
        self._results.append(plain)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, profile: ProfileConfig | Mapping[str, Any] | None = None) -> RunSession:
        """Start (or restart) the run: ``with run.start(profile=...) as rc:`` (or ``async with``).

        The block's outcome is the run's final status: an exception -> ``failed`` (type,
        message and traceback recorded; the exception propagates), ``CancelledError`` or
        ``KeyboardInterrupt`` -> ``cancelled``, else ``succeeded`` unless ``rc.fail()`` was
        called or a ``WorkflowRuntime.execute(..., run_context=rc)`` ended failed or
        cancelled (the run is then recorded so, with the task and its error, even if the
        block carries on without raising).
        """
        return RunSession(self, ProfileConfig.coerce(profile), owner=True)

    def attach(self) -> RunSession:
        """Record into this run from another process or worker without owning it.

        The status is left alone; assets and results are attributed to the run's current
        attempt. ``with run.attach() as rc:`` (or ``async with``).
        """
        return RunSession(self, self.config, owner=False)


class RunSession:
    """The context manager returned by ``Run.start()`` / ``Run.attach()`` (sync or async)."""

    def __init__(self, run: Run, profile: ProfileConfig, *, owner: bool) -> None:
        self._run = run
        self._profile = profile
        self._owner = owner
        self._context: RunContext | None = None
        self._owner_fd: int | None = None
        self._heartbeat: Heartbeat | None = None

    # sync protocol
    def __enter__(self) -> RunContext:
        if self._context is not None:
            raise RunStateError(f"run {self._run.id}: this session was already entered")
        run = self._run
        run._ws.catalog._ready()  # reconcile before taking any run or manifest lock
        if not self._owner:
            doc = run._read()
            self._context = RunContext(
                run, attempt=max(1, int(doc.get("attempt", 0))), config=self._profile
            )
            return self._context
        attempt = self._begin()
        self._heartbeat = Heartbeat(run.path / HEARTBEAT, run._ws.heartbeat_interval)
        self._heartbeat.start()
        self._context = RunContext(run, attempt=attempt, config=self._profile)
        return self._context

    def _begin(self) -> int:
        run = self._run
        with run._lock:
            doc = run._live(locked=True)
            status = doc["status"]
            if status == RunStatus.RUNNING.value:
                owner = doc.get("owner") or {}
                raise RunStateError(
                    f"run {run.id} is already running (pid {owner.get('pid')} on "
                    f"{owner.get('host')}); attach() to record into it"
                )
            if status == RunStatus.SUCCEEDED.value:
                raise RunStateError(
                    f"run {run.id} already succeeded; add a new run to run it again"
                )
            fd = try_lock(run.path / OWNER_LOCK)
            if fd is None:
                raise RunStateError(f"run {run.id} is being started by another process")
            try:
                doc = copy.deepcopy(doc)
                started = now_iso()
                attempt = int(doc.get("attempt", 0)) + 1
                owner = this_host().owner_record()
                doc.update(
                    status=RunStatus.RUNNING.value,
                    attempt=attempt,
                    started_at=started,
                    finished_at=None,
                    error=None,
                    owner=owner,
                    profile=_profile_record(self._profile),
                )
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
                run._write(doc)
            except BaseException:
                os.close(fd)
                raise
            self._owner_fd = fd
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
            context._close()
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
            error = context._failure
            status = RunStatus(context._failure_status) if error else RunStatus.SUCCEEDED
        elif isinstance(exc, Exception):
            status, error = RunStatus.FAILED, RunError.from_exception(exc)
        else:  # CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit
            status, error = RunStatus.CANCELLED, RunError.from_exception(exc)
        finished = now_iso()

        def change(doc: dict[str, Any]) -> None:
            doc["status"] = status.value
            doc["finished_at"] = finished
            doc["error"] = None if error is None else error.to_dict()
            if doc.get("attempts"):
                doc["attempts"][-1].update(status=status.value, finished_at=finished)

        self._run._update(change)

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
