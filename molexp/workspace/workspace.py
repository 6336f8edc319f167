"""Workspace: the root of the tracked-run hierarchy (Workspace > Project > Experiment > Run).

Embedded and serverless: a folder of plain files (JSON, JSON lines, the artifacts
themselves) plus a SQLite index. ``Workspace(root)`` touches nothing; the folder is created
on the first write. Several processes may use one workspace at once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from molexp.workspace.assets import KINDS, Asset, asset_from_record, now_iso
from molexp.workspace.atomic import FileLock, atomic_write_json, ensure_dir
from molexp.workspace.catalog import Catalog
from molexp.workspace.errors import RunNotFoundError
from molexp.workspace.hierarchy import Experiment, Project
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
from molexp.workspace.names import check_asset_name, check_scope_name
from molexp.workspace.run import Run
from molexp.workspace.scope_assets import ScopeAssets
from molexp.workspace.storage import current_record
from molexp.workspace.syncer import FileSyncer

__all__ = ["Workspace"]

log = logging.getLogger("molexp.workspace")
WORKSPACE_FORMAT = "molexp.workspace/1"


class Workspace:
    """A folder holding projects, experiments, runs, their assets and the catalog.

    ``fsync=False`` trades durability against power loss for speed (scratch workspaces);
    process crashes lose nothing either way. ``heartbeat_interval`` / ``stale_after``
    (seconds) decide when a run owned by a process on another host counts as interrupted.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: bool = True,
        heartbeat_interval: float = 30.0,
        stale_after: float = 180.0,
    ) -> None:
        self.root = Path(root).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"workspace root {str(self.root)!r} is not a folder")
        self.fsync = fsync
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self._catalog: Catalog | None = None
        self._manifests: dict[ScopeKey, Manifest] = {}
        self._locks: dict[Path, FileLock] = {}
        self._verified: set[str] = set()  # folders checked to be real folders, not links
        self._syncer = FileSyncer()
        self.assets = ScopeAssets(self, ScopeKey("workspace"))

    # -- hierarchy --------------------------------------------------------------------------

    def project(self, name: str) -> Project:
        return Project(self, name)

    def experiment(self, project: str, experiment: str) -> Experiment:
        return Project(self, project).experiment(experiment)

    def projects(self) -> list[Project]:
        folder = self.root / PROJECTS
        if not folder.is_dir():
            return []
        return [Project(self, entry) for entry in scope_folders(folder)]

    def run(self, run_id: str) -> Run:
        """The run ``run_id`` wherever it is; RunNotFoundError naming the id when absent."""
        check_scope_name("run id", run_id)
        key = self.catalog.run_location(run_id)
        if key is not None and (key.folder(self.root) / RUN_JSON).exists():
            return self._run_handle(key)
        for key, _ in self._walk_scopes():  # not indexed (yet): look on disk
            if key.scope == "run" and key.run_id == run_id:
                return self._run_handle(key)
        raise RunNotFoundError(f"no run {run_id!r} in workspace {str(self.root)!r}")

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self)
        return self._catalog

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest workspace-scope asset ``name``."""
        return self._find_asset(ScopeKey("workspace"), name, kind)

    def close(self) -> None:
        """Commit batched catalog records and release descriptors (the object stays usable)."""
        self._syncer.drain()
        for manifest in list(self._manifests.values()):
            manifest.close()
        if self._catalog is not None:
            self._catalog.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- internals shared by the layer --------------------------------------------------------

    def _lock_for(self, path: Path) -> FileLock:
        lock = self._locks.get(path)
        if lock is None:
            lock = self._locks.setdefault(path, FileLock(path))
        return lock

    def _manifest(self, key: ScopeKey) -> Manifest:
        manifest = self._manifests.get(key)
        if manifest is None:
            path = key.folder(self.root) / MANIFEST
            manifest = self._manifests.setdefault(key, Manifest(path, key, fsync=self.fsync))
        return manifest

    def _run_handle(self, key: ScopeKey) -> Run:
        return Run(self, key)

    def _ensure_scope(self, key: ScopeKey) -> None:
        """Create the folders (and their metadata files) of ``key`` and its parents."""
        parent = key.parent()
        if parent is not None:
            self._ensure_scope(parent)
        folder = key.folder(self.root)
        marker = {
            "workspace": WORKSPACE_JSON,
            "project": PROJECT_JSON,
            "experiment": EXPERIMENT_JSON,
            "run": RUN_JSON,
        }[key.scope]
        if key.scope == "run" or (folder / marker).exists():
            return
        ensure_dir(folder, fsync=self.fsync)
        doc: dict[str, Any] = {"format": WORKSPACE_FORMAT, "created_at": now_iso()}
        if key.scope != "workspace":
            doc["name"] = key.experiment if key.scope == "experiment" else key.project
        if key.scope == "experiment":
            doc["project"] = key.project
        atomic_write_json(folder / marker, doc, fsync=self.fsync)

    def _walk_scopes(self) -> Iterator[tuple[ScopeKey, Path]]:
        """Every scope folder on disk: workspace, projects, experiments, runs."""
        root = self.root
        if not root.is_dir():
            return
        yield ScopeKey("workspace"), root
        for project in scope_folders(root / PROJECTS):
            pkey = ScopeKey("project", project)
            yield pkey, root / PROJECTS / project
            experiments = root / PROJECTS / project / EXPERIMENTS
            for experiment in scope_folders(experiments):
                ekey = ScopeKey("experiment", project, experiment)
                yield ekey, experiments / experiment
                runs = experiments / experiment / RUNS
                for run_id in scope_folders(runs):
                    if (runs / run_id / RUN_JSON).exists() or (runs / run_id / MANIFEST).exists():
                        yield ScopeKey("run", project, experiment, run_id), runs / run_id

    def _find_asset(self, key: ScopeKey, name: str, kind: str | None) -> Asset | None:
        name = check_asset_name(name)
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
        scope: ScopeKey | None = key
        while scope is not None:
            index = self._manifest(scope).index()
            record = index.latest(kind, name) if kind is not None else index.by_name.get(name)
            if record is not None:
                folder = scope.folder(self.root)
                return asset_from_record(current_record(record, folder), key=scope, folder=folder)
            scope = scope.parent()
        return None

    def _catalog_failed(self, exc: BaseException) -> None:
        """A catalog write failed after the manifest write succeeded: re-derive on next open."""
        log.warning("catalog update failed (%s); it will be reconciled from the manifests", exc)
        if self._catalog is not None:
            self._catalog._reconciled = False
