"""Run: one tracked execution inside an experiment, and its lifecycle.

A run's folder is self-describing: ``run.json`` holds its identity, params, profile
(name, resolved config, content hash), timestamps, status and error, ``results.jsonl`` its
results and ``manifest.jsonl`` every asset record (see ``molexp.workspace.runfile``).

Lifecycle: ``pending`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``, and
``interrupted`` when the owning process died while running. Reading a run never writes:
a dead owner's run *reads* ``interrupted`` (see ``molexp.workspace.liveness``), and is
*recorded* so when the workspace is next opened (the catalog reconcile), when a new attempt
starts, or by ``run.mark_interrupted()``. A failed, cancelled or interrupted run can be
started again: a new attempt, continuing its manifest (checkpoint chains included).
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

from molexp.profile import ProfileConfig
from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    LogAsset,
    asset_from_record,
)
from molexp.workspace.encoding import to_json_value
from molexp.workspace.layout import ScopeKey
from molexp.workspace.records import RunDocument
from molexp.workspace.recovery import verify_files
from molexp.workspace.runfile import RunError, RunStatus, parse_time
from molexp.workspace.session import RunSession
from molexp.workspace.storage import current_record
from molexp.workspace.store import RootStore

if TYPE_CHECKING:
    from molexp.workspace.hierarchy import Experiment
    from molexp.workspace.workspace import Workspace

__all__ = ["Run", "RunSession", "RunStatus"]

T = TypeVar("T")


class Run:
    """A handle on one run folder; reads ``run.json`` on demand (cheap, stat-validated)."""

    def __init__(self, workspace: Workspace, key: ScopeKey) -> None:
        assert key.scope == "run" and key.run_id and key.project and key.experiment
        self._ws = workspace
        self._store: RootStore = workspace.store
        self.key = key
        self.id: str = key.run_id
        self.project_name: str = key.project
        self.experiment_name: str = key.experiment
        self.path: Path = key.folder(workspace.root)
        self._file = self._store.runs.file(key)
        self._results = self._store.runs.result_log(key)

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

    # -- what users read (never writes) ---------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """A copy of run.json (with the live status and every result set so far)."""
        doc: dict[str, Any] = copy.deepcopy(dict(self._store.runs.live(self._file)))
        doc["results"].update(self._results.read())
        return doc

    @property
    def exists(self) -> bool:
        return self._file.exists()

    @property
    def status(self) -> RunStatus:
        """The status; ``interrupted`` for a run whose owner died (computed, not written)."""
        return RunStatus(self._store.runs.live(self._file)["status"])

    @property
    def params(self) -> dict[str, Any]:
        return copy.deepcopy(self._file.read()["params"])

    @property
    def results(self) -> dict[str, Any]:
        """The result map (every ``set_result`` so far, durable)."""
        return self._store.runs.results(self._file, self._results)

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._file.read().get("tags", ()))

    @property
    def attempt(self) -> int:
        return int(self._file.read().get("attempt", 0))

    @property
    def profile(self) -> str | None:
        """The name of the profile of the latest attempt (None: no or unnamed profile)."""
        profile = self._file.read().get("profile")
        return None if not profile else profile.get("name")

    @property
    def config(self) -> ProfileConfig:
        """The resolved config of the latest attempt (empty when none)."""
        profile = self._file.read().get("profile")
        if not profile:
            return ProfileConfig()
        return ProfileConfig(profile.get("config") or {}, name=profile.get("name"))

    @property
    def config_hash(self) -> str | None:
        profile = self._file.read().get("profile")
        return None if not profile else profile.get("hash")

    @property
    def error(self) -> RunError | None:
        """Type, message and traceback of what ended a failed or cancelled run."""
        error = self._file.read().get("error")
        return None if not error else RunError.from_record(error)

    @property
    def created_at(self) -> _dt.datetime | None:
        return parse_time(self._file.read().get("created_at"))

    @property
    def started_at(self) -> _dt.datetime | None:
        return parse_time(self._file.read().get("started_at"))

    @property
    def finished_at(self) -> _dt.datetime | None:
        return parse_time(self._file.read().get("finished_at"))

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
        index = self._store.manifest(self.key).index()
        records = index.records if kind is None else [r for r in index.records if r["kind"] == kind]
        return [
            asset_from_record(current_record(r, self.path), key=self.key, folder=self.path)
            for r in records
        ]

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest ``name`` at the nearest scope: this run, its experiment, project, workspace."""
        return self._store.find_asset(self.key, name, kind)

    def latest_checkpoint(self, name: str) -> CheckpointAsset | None:
        record = self._store.manifest(self.key).index().latest("checkpoint", name)
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

    # -- explicit repairs ----------------------------------------------------------------------

    def verify_files(self, *, repair: bool = True) -> list[str]:
        """Check every small artifact/checkpoint file against its manifest record.

        Small payloads are durable through their record (see ``molexp.workspace.syncer``);
        after a power loss their file may be missing or short. With ``repair`` such files are
        rewritten from the record, and ``artifacts/<name>`` re-pointed at the newest version.
        Returns a description of each file that was wrong. Done automatically when a run is
        recorded interrupted.
        """
        return verify_files(self.path, repair=repair)

    def mark_interrupted(self) -> bool:
        """Record the run ``interrupted`` if it reads ``running`` while its owner is dead
        (its files verified and repaired, the temporary files of killed writers removed);
        True when it did. Opening a workspace does this for every such run."""
        return self._store.runs.mark_interrupted(self._file)[1]

    def annotate(self, key: str, value: Any) -> None:
        """Record ``value`` (JSON values) under the top-level ``key`` of run.json, beside
        the run record (how an execution went, the overrides a command line applied). The
        record's own keys (status, params, profile, ...) are refused; ``info()`` reads it."""
        if key in RunDocument.__annotations__:
            raise ValueError(f"run {self.id}: {key!r} is part of the run record, not a note")
        plain = to_json_value(value, what=f"run.json {key}")

        def change(doc: RunDocument) -> None:
            cast("dict[str, Any]", doc)[key] = plain

        self._store.runs.update(self._file, change, top_level=True)

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
