"""Workspace: the root of the tracked-run hierarchy (Workspace > Project > Experiment > Run).

Embedded and serverless: a folder of plain files (JSON, JSON lines, the artifacts
themselves) plus a SQLite index. ``Workspace(root)`` touches nothing; the folder is created
on the first write. Several processes may use one workspace at once.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import attrs

from molexp.profile import ProfileConfig
from molexp.workspace.assets import Asset
from molexp.workspace.catalog import Catalog
from molexp.workspace.errors import RunNotFoundError
from molexp.workspace.hierarchy import Experiment, Project
from molexp.workspace.layout import PROJECTS, RUN_JSON, ScopeKey, scope_folders
from molexp.workspace.names import check_scope_name
from molexp.workspace.run import Run
from molexp.workspace.run_context import RunContext
from molexp.workspace.scope_assets import ScopeAssets
from molexp.workspace.staged_recorder import StagedRecorder
from molexp.workspace.store import RootStore

__all__ = ["RunTicket", "Workspace"]


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
        self.store = RootStore(
            self.root,
            fsync=fsync,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
        )
        """What every handle of this workspace shares: locks, manifests, run files, index."""
        self.catalog = Catalog(self)
        self.assets = ScopeAssets(self.store, ScopeKey("workspace"))

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
            return Run(self, key)
        for key, _ in self.store.walk_scopes():  # not indexed (yet): look on disk
            if key.scope == "run" and key.run_id == run_id:
                return Run(self, key)
        raise RunNotFoundError(f"no run {run_id!r} in workspace {str(self.root)!r}")

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest workspace-scope asset ``name``."""
        return self.store.find_asset(ScopeKey("workspace"), name, kind)

    def ticket(self, run: ScopeKey, *, attempt: int, config: ProfileConfig) -> RunTicket:
        """What a worker needs to stage records into the run at ``run`` (``rc.ticket()``)."""
        assert run.scope == "run" and run.project and run.experiment and run.run_id
        return RunTicket(
            root=str(self.root),
            project=run.project,
            experiment=run.experiment,
            run_id=run.run_id,
            attempt=attempt,
            fsync=self.fsync,
            config=config,
        )

    def close(self) -> None:
        """Commit batched catalog records and release descriptors (the object stays usable)."""
        self.store.close()

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"


@attrs.frozen
class RunTicket:
    """Where a run is and which attempt is recording: enough for a worker to stage into it.

    Made by ``RunContext.ticket()`` on the driver; picklable; ``open()`` on the worker.
    """

    root: str
    project: str
    experiment: str
    run_id: str
    attempt: int
    fsync: bool
    config: ProfileConfig

    def open(self) -> RunContext:
        """A staging run context for this run, in this process (see ``molexp.workspace.staging``).

        Raises ``RunNotFoundError`` when the run folder is not visible here, which means the
        workspace is not on a filesystem shared with the driver.
        """
        workspace = _shared_workspace(self.root, self.fsync)
        key = ScopeKey("run", self.project, self.experiment, self.run_id)
        run = Run(workspace, key)
        if not (run.path / RUN_JSON).is_file():
            raise RunNotFoundError(
                f"run {self.run_id}: {run.path / RUN_JSON} is not visible on host "
                f"{socket.gethostname()!r} (pid {os.getpid()}); the workspace must be on a "
                "filesystem shared by the driver and the workers"
            )
        recorder = StagedRecorder(workspace.store, key)
        return RunContext(run, recorder, attempt=self.attempt, config=self.config)


_WORKSPACES: dict[tuple[str, bool], Workspace] = {}
_WORKSPACES_LOCK = threading.Lock()


def _shared_workspace(root: str, fsync: bool) -> Workspace:
    """One Workspace object per root in a worker process (its manifest indexes are reused)."""
    with _WORKSPACES_LOCK:
        workspace = _WORKSPACES.get((root, fsync))
        if workspace is None:
            workspace = _WORKSPACES[(root, fsync)] = Workspace(root, fsync=fsync)
        return workspace
