"""The workspace catalog: queries over every asset and run of a workspace (``ws.catalog``).

A façade over the store's index (``molexp.workspace.index``): it reconciles the index with
the files once when first used (see ``molexp.workspace.reconcile``), answers asset queries
with ``Asset`` values and run queries with ``Run`` handles, and lists damaged runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    DataAsset,
    LogAsset,
)
from molexp.workspace.errors import CorruptRunError
from molexp.workspace.index import AssetFilter
from molexp.workspace.index_rows import asset_filters
from molexp.workspace.layout import ScopeKey
from molexp.workspace.reconcile import DamagedRun, ReconcileReport
from molexp.workspace.run import Run
from molexp.workspace.runfile import RunStatus

if TYPE_CHECKING:
    from molexp.workspace.workspace import Workspace

__all__ = ["Catalog", "DamagedRun", "ReconcileReport"]

log = logging.getLogger("molexp.workspace")
_RUN_STATUSES = frozenset(s.value for s in RunStatus)


def _filter(
    kind: str | None,
    name: str | None,
    producer_task: str | None,
    run: str | Run | None,
    experiment: str | None,
    project: str | None,
    tag: str | None,
    scope: str | None,
    workflow: str | None,
) -> AssetFilter:
    run_id = run.id if isinstance(run, Run) else run
    return (kind, name, producer_task, run_id, experiment, project, tag, scope, workflow)


class Catalog:
    """Queries over every asset and run of a workspace (``ws.catalog``)."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._store = workspace.store

    @property
    def path(self) -> Path:
        """The index file (``<root>/.molexp/catalog.sqlite``)."""
        return self._store.index.path

    def reconcile(self) -> ReconcileReport:
        """Bring the index in line with the manifests and run files (done on open): grown
        manifests indexed, dead owners' runs recorded interrupted, vanished ones dropped."""
        return self._store.reconcile()

    def rebuild(self) -> ReconcileReport:
        """Re-derive the whole index from the manifests and run files.

        Rows are replaced manifest by manifest (never an empty catalog in between), so it
        is safe while other processes write.
        """
        return self._store.rebuild()

    def damaged_runs(self) -> list[DamagedRun]:
        """The runs whose ``run.json`` is unreadable or malformed, found by the last
        reconcile (they are left as they are, and left out of ``query_runs``)."""
        return self._store.damaged_runs()

    def flush(self) -> None:
        """Commit this process's batched asset records now."""
        self._store.index.flush()

    def close(self) -> None:
        """Commit batched records and close the connection of this process."""
        self._store.index.close()

    @overload
    def query_assets(
        self,
        *,
        kind: Literal["artifact"],
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[ArtifactAsset]: ...
    @overload
    def query_assets(
        self,
        *,
        kind: Literal["log"],
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[LogAsset]: ...
    @overload
    def query_assets(
        self,
        *,
        kind: Literal["checkpoint"],
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[CheckpointAsset]: ...
    @overload
    def query_assets(
        self,
        *,
        kind: Literal["data"],
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[DataAsset]: ...
    @overload
    def query_assets(
        self,
        *,
        kind: str | None = None,
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[Asset]: ...
    def query_assets(
        self,
        *,
        kind: str | None = None,
        name: str | None = None,
        producer_task: str | None = None,
        run: str | Run | None = None,
        experiment: str | None = None,
        project: str | None = None,
        tag: str | None = None,
        scope: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """Assets matching every given filter, newest first.

        ``run`` is a run id or a ``Run``; ``scope`` one of run/experiment/project/workspace.
        """
        where = _filter(kind, name, producer_task, run, experiment, project, tag, scope, workflow)
        asset_filters(*where)  # a bad kind or scope is an error even in an empty workspace
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        if not self._store.ready():
            return []
        return self._store.index.query_assets(where, limit)

    def count_assets(self, **filters: Any) -> int:
        """How many assets match (same filters as ``query_assets`` but ``limit``)."""
        where = _filter(
            filters.pop("kind", None),
            filters.pop("name", None),
            filters.pop("producer_task", None),
            filters.pop("run", None),
            filters.pop("experiment", None),
            filters.pop("project", None),
            filters.pop("tag", None),
            filters.pop("scope", None),
            filters.pop("workflow", None),
        )
        if filters:
            raise TypeError(f"count_assets() got unknown filters: {', '.join(sorted(filters))}")
        asset_filters(*where)
        if not self._store.ready():
            return 0
        return self._store.index.count_assets(where)

    def query_runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        project: str | None = None,
        experiment: str | None = None,
        profile: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs matching every given filter, newest first.

        A run the index has as running whose owner died counts as ``interrupted`` (nothing
        is written: it is recorded so when the workspace is next opened).
        """
        statuses: list[str] | None = None
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            bad = [s for s in statuses if s not in _RUN_STATUSES]
            if bad:
                raise ValueError(
                    f"unknown run status {bad[0]!r}; expected one of "
                    f"{', '.join(sorted(_RUN_STATUSES))}"
                )
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        store = self._store
        if not store.ready():
            return []
        dead = [str(key.run_id) for key in store.index.running_runs() if self._dead(key)]
        keys = store.index.query_runs(
            statuses=statuses,
            columns=(("project", project), ("experiment", experiment), ("profile", profile)),
            limit=limit,
            interrupted=dead,
        )
        return [Run(self._ws, key) for key in keys]

    def _dead(self, key: ScopeKey) -> bool:
        runs = self._store.runs
        try:
            return runs.dead(key, runs.file(key).read())  # (a fresh read: no cache kept)
        except (CorruptRunError, LookupError) as exc:
            log.warning("%s", exc)
            return False

    def run_location(self, run_id: str) -> ScopeKey | None:
        """Where the run ``run_id`` lives, per the catalog."""
        if not self._store.ready():
            return None
        return self._store.index.run_location(run_id)
