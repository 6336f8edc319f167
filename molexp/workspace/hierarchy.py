"""Project and Experiment: the folders between the workspace and its runs.

Handles are cheap and touch nothing on disk until something is written: ``ws.project("p")``
and ``.experiment("e")`` validate the names, ``add_run`` creates the folders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from molexp.workspace.atomic import ensure_dir, fsync_dir
from molexp.workspace.encoding import to_json_value
from molexp.workspace.errors import RunNotFoundError, RunStateError
from molexp.workspace.layout import EXPERIMENTS, RUN_JSON, RUNS, ScopeKey, scope_folders
from molexp.workspace.names import check_scope_name, check_tags, new_run_id
from molexp.workspace.run import Run
from molexp.workspace.runfile import new_run_document
from molexp.workspace.scope_assets import ScopeAssets

if TYPE_CHECKING:
    from molexp.profile import ProfileConfig
    from molexp.sweeps import RunSet
    from molexp.workspace.assets import Asset
    from molexp.workspace.workspace import Workspace

__all__ = ["Experiment", "Project"]


class Project:
    """``ws.project(name)``: a folder of experiments and project-scope assets."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = check_scope_name("project", name)
        self.key = ScopeKey("project", self.name)
        self.path: Path = self.key.folder(workspace.root)
        self.assets = ScopeAssets(workspace.store, self.key)

    def experiment(self, name: str) -> Experiment:
        return Experiment(self, name)

    def experiments(self) -> list[Experiment]:
        """The experiments that exist on disk, by name."""
        folder = self.path / EXPERIMENTS
        if not folder.is_dir():
            return []
        return [Experiment(self, entry) for entry in scope_folders(folder)]

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        return self.workspace.store.find_asset(self.key, name, kind)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Project) and (self.workspace.root, self.name) == (
            other.workspace.root,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.workspace.root, self.name))

    def __repr__(self) -> str:
        return f"Project({self.name!r})"


class Experiment:
    """``project.experiment(name)``: a folder of runs and experiment-scope assets."""

    def __init__(self, project: Project, name: str) -> None:
        self.project = project
        self.workspace = project.workspace
        self.name = check_scope_name("experiment", name)
        self.key = ScopeKey("experiment", project.name, self.name)
        self.path: Path = self.key.folder(self.workspace.root)
        self.assets = ScopeAssets(self.workspace.store, self.key)

    def _run_key(self, run_id: str) -> ScopeKey:
        return ScopeKey("run", self.project.name, self.name, run_id)

    def add_run(
        self,
        params: Mapping[str, Any] | Any = None,
        *,
        run_id: str | None = None,
        tags: Iterable[str] = (),
    ) -> Run:
        """Create a ``pending`` run with ``params`` (JSON values or an attrs/dataclass)."""
        plain = to_json_value({} if params is None else params, what="run params")
        if not isinstance(plain, dict):
            raise TypeError(
                f"run params must be a mapping or an attrs/dataclass instance, not "
                f"{type(params).__name__}"
            )
        tag_list = check_tags(tags, "run tags")
        run_id = new_run_id() if run_id is None else check_scope_name("run id", run_id)
        ws = self.workspace
        store = ws.store
        store.ensure_scope(self.key)
        store.ready()
        # Run ids name runs across the workspace (`ws.run(id)`, `molexp runs show ID`).
        elsewhere = store.index.run_location(run_id)
        if elsewhere is not None and (elsewhere.project, elsewhere.experiment) != (
            self.project.name,
            self.name,
        ):
            raise RunStateError(
                f"run id {run_id!r} already exists in experiment "
                f"{elsewhere.project}/{elsewhere.experiment}; run ids are unique per workspace"
            )
        key = self._run_key(run_id)
        run = Run(ws, key)
        ensure_dir(run.path.parent, fsync=ws.fsync)
        try:
            run.path.mkdir()
        except FileExistsError:
            raise RunStateError(
                f"run id {run_id!r} already exists in experiment {self.project.name}/{self.name}"
            ) from None
        if ws.fsync:
            fsync_dir(run.path.parent)
        doc = new_run_document(run_id, self.project.name, self.name, plain, tag_list)
        run_file = store.runs.file(key)
        with run_file.lock:
            store.runs.write(run_file, doc)
        return run

    def add_runs(
        self, items: Iterable[tuple[str, Mapping[str, Any] | Any]], *, tags: Iterable[str] = ()
    ) -> list[Run]:
        """Create many ``pending`` runs, ``(run_id, params)`` each, as ``add_run`` would, but
        with one fsync of the runs folder for all of them (a sweep's cells): each run.json
        is written durably once every new folder is. RunStateError for an id that exists."""
        tag_list = check_tags(tags, "run tags")
        ws = self.workspace
        store = ws.store
        planned: list[tuple[Run, dict[str, Any]]] = []
        for run_id, params in items:
            plain = to_json_value({} if params is None else params, what="run params")
            if not isinstance(plain, dict):
                raise TypeError(f"run {run_id!r}: params must be a mapping or attrs/dataclass")
            planned.append((Run(ws, self._run_key(check_scope_name("run id", run_id))), plain))
        if not planned:
            return []
        store.ensure_scope(self.key)
        store.ready()
        for run, _ in planned:
            elsewhere = store.index.run_location(run.id)
            if elsewhere is not None and (elsewhere.project, elsewhere.experiment) != (
                self.project.name,
                self.name,
            ):
                raise RunStateError(
                    f"run id {run.id!r} already exists in experiment "
                    f"{elsewhere.project}/{elsewhere.experiment}; run ids are unique per workspace"
                )
        ensure_dir(planned[0][0].path.parent, fsync=ws.fsync)
        made: list[tuple[Run, dict[str, Any]]] = []
        try:
            for run, plain in planned:
                run.path.mkdir()
                made.append((run, plain))
        except FileExistsError:
            for done, _ in made:  # nothing half-made: the earlier empty folders go again
                done.path.rmdir()
            raise RunStateError(
                f"run id {run.id!r} already exists in experiment {self.project.name}/{self.name}"
            ) from None
        if ws.fsync:
            fsync_dir(planned[0][0].path.parent)
        for run, plain in planned:
            doc = new_run_document(run.id, self.project.name, self.name, plain, tag_list)
            run_file = store.runs.file(run.key)
            with run_file.lock:
                store.runs.write(run_file, doc)
        return [run for run, _ in planned]

    def run(self, run_id: str) -> Run:
        """The run ``run_id`` of this experiment; RunNotFoundError when there is none."""
        check_scope_name("run id", run_id)
        run = Run(self.workspace, self._run_key(run_id))
        if not (run.path / RUN_JSON).exists():
            raise RunNotFoundError(
                f"experiment {self.project.name}/{self.name} has no run {run_id!r} "
                f"(looked for {run.path / RUN_JSON})"
            )
        return run

    def runs(self) -> list[Run]:
        """The runs on disk, oldest first (run ids sort by creation time)."""
        folder = self.path / RUNS
        if not folder.is_dir():
            return []
        return [
            Run(self.workspace, self._run_key(entry))
            for entry in scope_folders(folder)
            if (folder / entry / RUN_JSON).exists()
        ]

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        return self.workspace.store.find_asset(self.key, name, kind)

    def sweep(
        self,
        workflow: Any,
        *,
        grid: Mapping[str, Any] | None = None,
        zip: Mapping[str, Any] | None = None,
        replicas: int | None = None,
        config: ProfileConfig | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunSet:
        """One run of ``workflow`` per cell of ``grid`` (x ``zip``) x replica; see
        ``molexp.sweeps.sweep``. Run the set with ``.execute(parallel=N)``."""
        # The sweep runs workflows, a layer above this one: imported only when called.
        from molexp.sweeps import sweep

        return sweep(
            self, workflow, grid=grid, zip=zip, replicas=replicas, config=config, **options
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and (self.workspace.root, self.key) == (
            other.workspace.root,
            other.key,
        )

    def __hash__(self) -> int:
        return hash((self.workspace.root, self.key))

    def __repr__(self) -> str:
        return f"Experiment({self.project.name}/{self.name})"
