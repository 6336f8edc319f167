"""Bringing the index in line with the files (done once when a workspace is first used).

Manifests that grew since the index last read them (a writer killed between its manifest
append and its index insert, a run folder copied in from elsewhere) are indexed from where
the index stopped; runs whose owner died are recorded ``interrupted``; runs and manifests
that disappeared are dropped; runs whose ``run.json`` cannot be read are listed as damaged.

No manifest lock is needed: each source is read from where the index stopped up to its
last complete line, inside one index transaction, and batched inserts of live writers that
arrive later find the offset moved and skip what is indexed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

import attrs

from molexp.workspace.errors import CorruptRunError
from molexp.workspace.index import CatalogIndex, SourceTodo
from molexp.workspace.layout import MANIFEST, ScopeKey
from molexp.workspace.records import RunDocument
from molexp.workspace.runs import RunStates

__all__ = ["DamagedRun", "ReconcileReport", "reconcile"]

log = logging.getLogger("molexp.workspace")
damaged_log = logging.getLogger("molexp.workspace.damaged")
"""Where damaged runs are reported (once per process); a CLI that lists them quiets it."""
_DAMAGED_LOGGED: set[str] = set()


@attrs.frozen
class DamagedRun:
    """A run folder whose ``run.json`` cannot be read: where it is and what is wrong."""

    key: ScopeKey
    problem: str
    """The error, naming the file (``run <id>: <path>/run.json: ...``)."""

    @property
    def run_id(self) -> str:
        return str(self.key.run_id)


@attrs.frozen
class ReconcileReport:
    """What a reconcile or rebuild changed in the catalog."""

    records_indexed: int = 0
    manifests_synced: int = 0
    runs_synced: int = 0
    runs_interrupted: tuple[str, ...] = ()
    removed_runs: int = 0
    removed_manifests: int = 0
    damaged_runs: tuple[str, ...] = ()
    """Runs whose run.json could not be read (see ``Catalog.damaged_runs``)."""


def reconcile(
    index: CatalogIndex,
    runs: RunStates,
    scopes: Iterable[tuple[ScopeKey, Path]],
    damaged: dict[str, DamagedRun],
) -> ReconcileReport:
    """Reconcile ``index`` with the scope folders ``scopes``; ``damaged`` is updated."""
    index.flush()
    known_sources = index.known_sources()
    known_runs = index.known_runs()
    asset_sources = index.asset_sources()
    interrupted: list[str] = []
    seen_sources: set[str] = set()
    seen_runs: set[str] = set()
    todo: list[SourceTodo] = []
    run_rows: list[tuple[ScopeKey, RunDocument, str | None]] = []
    for key, folder in scopes:
        manifest = folder / MANIFEST
        try:
            st = os.stat(manifest)
        except FileNotFoundError:
            st = None
        if st is not None:
            rel = index.source_rel(manifest)
            seen_sources.add(rel)
            if known_sources.get(rel) != (st.st_ino, st.st_size):
                todo.append((key, manifest, rel, st.st_ino))
        if key.scope != "run":
            continue
        run_id = str(key.run_id)
        if run_id in seen_runs:
            log.warning("run id %s appears twice; indexing the first only", run_id)
            continue
        seen_runs.add(run_id)
        known = known_runs.get(run_id)
        run_file = runs.file(key)
        try:
            if known is None or known[1] == "running" or known[0] != run_file.signature():
                doc, _ = runs.mark_interrupted(run_file)
                run_rows.append((key, doc, run_file.signature()))
                if doc["status"] == "interrupted" and (known is None or known[1] != "interrupted"):
                    interrupted.append(run_id)
        except CorruptRunError as exc:
            # Not indexed (an older row of it is dropped below), listed as damaged.
            seen_runs.discard(run_id)
            damaged[run_id] = DamagedRun(key, str(exc))
            if run_id not in _DAMAGED_LOGGED:
                _DAMAGED_LOGGED.add(run_id)
                damaged_log.warning("%s", exc)
        else:
            damaged.pop(run_id, None)
    index.upsert_runs(run_rows)
    indexed = index.sync_sources(todo)
    gone_sources = (set(known_sources) | asset_sources) - seen_sources
    gone_runs = set(known_runs) - seen_runs
    index.drop(gone_sources, gone_runs)
    return ReconcileReport(
        records_indexed=indexed,
        manifests_synced=len(todo),
        runs_synced=len(run_rows),
        runs_interrupted=tuple(interrupted),
        removed_runs=len(gone_runs),
        removed_manifests=len(gone_sources),
        damaged_runs=tuple(sorted(damaged)),
    )
