"""The store of one workspace root: what every handle of that root shares in a process.

It owns the inter-process locks, the manifest of each scope (with its in-memory index),
the set of folders verified to be real folders, the syncer of small files, the run files
and the catalog index, and it knows how scope folders are created and walked. Handles
(``Workspace``, ``Run``, ``RunContext``...) hold the store and never each other's internals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molexp.workspace.assets import KINDS, Asset, asset_from_record, now_iso
from molexp.workspace.atomic import FileLock, atomic_write_json, ensure_dir
from molexp.workspace.index import CatalogIndex
from molexp.workspace.layout import (
    EXPERIMENT_JSON,
    EXPERIMENTS,
    MANIFEST,
    PROJECT_JSON,
    PROJECTS,
    RUN_JSON,
    RUNS,
    WORKSPACE_JSON,
    ScopeKey,
    scope_folders,
)
from molexp.workspace.manifest import Manifest
from molexp.workspace.names import check_asset_name
from molexp.workspace.reconcile import DamagedRun, ReconcileReport, reconcile
from molexp.workspace.runs import RunStates
from molexp.workspace.storage import current_record
from molexp.workspace.syncer import FileSyncer

__all__ = ["WORKSPACE_FORMAT", "RootStore"]

log = logging.getLogger("molexp.workspace")
WORKSPACE_FORMAT = "molexp.workspace/1"
_MARKERS = {
    "workspace": WORKSPACE_JSON,
    "project": PROJECT_JSON,
    "experiment": EXPERIMENT_JSON,
    "run": RUN_JSON,
}


class RootStore:
    """Locks, manifests, run files and the index of the workspace at ``root``."""

    def __init__(
        self, root: Path, *, fsync: bool, heartbeat_interval: float, stale_after: float
    ) -> None:
        self.root = root
        self.fsync = fsync
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.verified: set[str] = set()
        """Folders checked to be real folders, not links (see ``storage.prepare_parent``)."""
        self.syncer = FileSyncer()
        self.index = CatalogIndex(root, fsync=fsync, on_failure=self.index_failed)
        self.runs = RunStates(
            root,
            self.index,
            self.lock_for,
            self.index_failed,
            fsync=fsync,
            stale_after=stale_after,
        )
        self._locks: dict[Path, FileLock] = {}
        self._manifests: dict[ScopeKey, Manifest] = {}
        self._reconciled = False
        self._damaged: dict[str, DamagedRun] = {}

    # -- shared objects -----------------------------------------------------------------------

    def lock_for(self, path: Path) -> FileLock:
        lock = self._locks.get(path)
        if lock is None:
            lock = self._locks.setdefault(path, FileLock(path))
        return lock

    def manifest(self, key: ScopeKey) -> Manifest:
        manifest = self._manifests.get(key)
        if manifest is None:
            path = key.folder(self.root) / MANIFEST
            manifest = self._manifests.setdefault(key, Manifest(path, key, fsync=self.fsync))
        return manifest

    # -- the index ------------------------------------------------------------------------------

    def index_failed(self, exc: BaseException) -> None:
        """An index write failed after the manifest write succeeded: re-derive on next use."""
        log.warning("catalog update failed (%s); it will be reconciled from the manifests", exc)
        self._reconciled = False

    def ready(self) -> bool:
        """Reconcile the index once per store (and after a failed index write), then commit
        this process's batched records; False when the workspace folder does not exist."""
        if not self.root.is_dir():
            return False
        if not self._reconciled:
            self._reconciled = True
            try:
                self.reconcile()
            except BaseException:
                self._reconciled = False
                raise
        self.index.flush()  # this process's batched records are visible to its own queries
        return True

    def reconcile(self) -> ReconcileReport:
        if not self.root.is_dir():
            return ReconcileReport()
        return reconcile(self.index, self.runs, self.walk_scopes(), self._damaged)

    def rebuild(self) -> ReconcileReport:
        """Re-derive the whole index (rows replaced manifest by manifest, never empty)."""
        self._reconciled = True
        self.index.forget_offsets()
        return self.reconcile()

    def damaged_runs(self) -> list[DamagedRun]:
        self.ready()
        return [self._damaged[r] for r in sorted(self._damaged)]

    # -- scopes ---------------------------------------------------------------------------------

    def ensure_scope(self, key: ScopeKey) -> None:
        """Create the folders (and their metadata files) of ``key`` and its parents."""
        parent = key.parent()
        if parent is not None:
            self.ensure_scope(parent)
        folder = key.folder(self.root)
        marker = _MARKERS[key.scope]
        if key.scope == "run" or (folder / marker).exists():
            return
        ensure_dir(folder, fsync=self.fsync)
        doc: dict[str, Any] = {"format": WORKSPACE_FORMAT, "created_at": now_iso()}
        if key.scope != "workspace":
            doc["name"] = key.experiment if key.scope == "experiment" else key.project
        if key.scope == "experiment":
            doc["project"] = key.project
        atomic_write_json(folder / marker, doc, fsync=self.fsync)

    def walk_scopes(self) -> Iterator[tuple[ScopeKey, Path]]:
        """Every scope folder on disk: workspace, projects, experiments, runs."""
        root = self.root
        if not root.is_dir():
            return
        yield ScopeKey("workspace"), root
        for project in scope_folders(root / PROJECTS):
            yield ScopeKey("project", project), root / PROJECTS / project
            experiments = root / PROJECTS / project / EXPERIMENTS
            for experiment in scope_folders(experiments):
                yield ScopeKey("experiment", project, experiment), experiments / experiment
                runs = experiments / experiment / RUNS
                for run_id in scope_folders(runs):
                    if (runs / run_id / RUN_JSON).exists() or (runs / run_id / MANIFEST).exists():
                        yield ScopeKey("run", project, experiment, run_id), runs / run_id

    def find_asset(self, key: ScopeKey, name: str, kind: str | None) -> Asset | None:
        """The newest ``name`` at ``key`` or, failing that, the nearest enclosing scope."""
        name = check_asset_name(name)
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
        scope: ScopeKey | None = key
        while scope is not None:
            index = self.manifest(scope).index()
            record = index.latest(kind, name) if kind is not None else index.by_name.get(name)
            if record is not None:
                folder = scope.folder(self.root)
                return asset_from_record(current_record(record, folder), key=scope, folder=folder)
            scope = scope.parent()
        return None

    def close(self) -> None:
        """Flush small files, commit batched records, release descriptors (stays usable)."""
        self.syncer.drain()
        for manifest in list(self._manifests.values()):
            manifest.close()
        self.index.close()
