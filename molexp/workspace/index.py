"""The workspace index: a SQLite catalog over every manifest record and ``run.json``.

It knows scope keys and records, never handles: queries return ``Asset`` values and run
keys. The index is *derived*: the manifests and run files are the source of truth. Writers
index their records while they still hold the manifest lock (so the index sees each manifest
in file order and remembers how far it has read it, per file: ``sources``); whatever a
killed writer did not index is caught up from that offset by the next reconcile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from molexp.workspace.assets import Asset
from molexp.workspace.index_batch import Batcher, Pending
from molexp.workspace.index_db import IndexDB
from molexp.workspace.index_rows import (
    ASSET_SELECT,
    INSERT_ASSET,
    UPSERT_RUN,
    AssetRows,
    asset_filters,
    asset_rows,
    run_row,
)
from molexp.workspace.layout import ScopeKey
from molexp.workspace.manifest import read_records
from molexp.workspace.records import AssetRecord, RunDocument
from molexp.workspace.storage import log_stats

__all__ = ["AssetFilter", "CatalogIndex", "SourceTodo"]

log = logging.getLogger("molexp.workspace")

AssetFilter = tuple[
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]
"""kind, name, producer task, run id, experiment, project, tag, scope, workflow."""
SourceTodo = tuple[ScopeKey, Path, str, int]
"""A manifest to catch up: its scope, its path, its path relative to the root, its inode."""


def run_keys(rows: Iterable[Sequence[Any]]) -> list[ScopeKey]:
    """The run keys of index rows (project, experiment, run id). A row whose names could not
    be folder names (a hand-edited or foreign index) is skipped with a warning: a ScopeKey
    checks its names, so no row can point a run handle outside the workspace."""
    keys = []
    for project, experiment, run_id in rows:
        try:
            keys.append(ScopeKey("run", project, experiment, run_id))
        except (TypeError, ValueError) as exc:
            log.warning("catalog row of run %r skipped: %s", run_id, exc)
    return keys


class CatalogIndex:
    """The index of the workspace at ``root``. ``on_failure`` hears of a failed batched
    write (the index then lags the manifests until the next reconcile)."""

    def __init__(
        self, root: Path, *, fsync: bool, on_failure: Callable[[BaseException], None]
    ) -> None:
        self.root = root
        self._root_str = str(root)
        self.db = IndexDB(root, fsync=fsync)
        self._on_failure = on_failure
        self._batcher = Batcher(self._commit, on_failure)
        self._rows = AssetRows(self._root_str)

    @property
    def path(self) -> Path:
        return self.db.path

    def source_rel(self, manifest: Path) -> str:
        return manifest.relative_to(self.root).as_posix()

    # -- writes ---------------------------------------------------------------------------

    def add_records(
        self,
        key: ScopeKey,
        manifest: Path,
        records: Sequence[AssetRecord],
        *,
        start: int,
        end: int,
        inode: int,
    ) -> None:
        """Index ``records``, appended to ``manifest`` between byte ``start`` and ``end``
        (batched: see ``molexp.workspace.index_batch``)."""
        self._batcher.add(Pending(key, manifest, list(records), start, end, inode))

    def flush(self) -> None:
        """Commit this process's batched records now."""
        self._batcher.flush()

    def _commit(self, batch: list[Pending]) -> None:
        try:
            with self.db.write() as conn:
                for pending in batch:
                    self._apply(conn, pending)
        except BaseException as exc:
            self._on_failure(exc)  # the records are in the manifests: re-derive them
            raise

    def _apply(self, conn: Any, pending: Pending) -> None:
        """Index a contiguous run of records, or catch the source up from its file."""
        rel = self.source_rel(pending.manifest)
        row = conn.execute("SELECT inode, offset FROM sources WHERE path=?", (rel,)).fetchone()
        if (row is None and pending.start == 0) or (
            row is not None and tuple(row) == (pending.inode, pending.start)
        ):
            self._insert(conn, pending.key, rel, pending.records, from_files=False)
            new_offset = pending.end
        else:
            # Someone else's records come first (another process, or a writer that died
            # between its append and its insert): read the file from where we stopped.
            _, new_offset = self.sync_source(
                conn, (pending.key, pending.manifest, rel, pending.inode), row
            )
            new_offset = max(new_offset, pending.end)
        conn.execute(
            "INSERT OR REPLACE INTO sources(path, inode, offset) VALUES (?, ?, ?)",
            (rel, pending.inode, new_offset),
        )

    def sync_source(self, conn: Any, todo: SourceTodo, row: Any) -> tuple[int, int]:
        """Index a manifest from where the index stopped; (records indexed, new offset)."""
        key, manifest, rel, inode = todo
        offset = 0
        # A manifest shorter than the offset indexed lost its tail: its records are appended
        # before their (shared) fsync and may be indexed in between, so a power cut can
        # take records the index has. Re-read it whole.
        if row is not None and row[0] == inode and int(row[1]) <= _size(manifest):
            offset = int(row[1])
        else:
            self._drop_source(conn, rel)
        records, end, _ = read_records(manifest, offset)
        self._insert(conn, key, rel, records, from_files=True)
        conn.execute(
            "INSERT OR REPLACE INTO sources(path, inode, offset) VALUES (?, ?, ?)",
            (rel, inode, end),
        )
        return len(records), end

    def sync_sources(self, todo: Sequence[SourceTodo]) -> int:
        """Catch up every manifest of ``todo`` (in bounded transactions); records indexed."""
        indexed = 0
        for i in range(0, len(todo), 64):  # writers never wait long
            with self.db.write() as conn:
                for item in todo[i : i + 64]:
                    row = conn.execute(
                        "SELECT inode, offset FROM sources WHERE path=?", (item[2],)
                    ).fetchone()
                    indexed += self.sync_source(conn, item, row)[0]
        return indexed

    def _insert(
        self,
        conn: Any,
        key: ScopeKey,
        rel: str,
        records: Iterable[AssetRecord],
        *,
        from_files: bool,
    ) -> None:
        rows, tags = asset_rows(self._root_str, key, rel, records, from_files=from_files)
        conn.executemany(INSERT_ASSET, rows)
        if tags:
            conn.executemany("INSERT OR IGNORE INTO asset_tags(tag, asset_id) VALUES (?, ?)", tags)

    @staticmethod
    def _drop_source(conn: Any, rel: str) -> None:
        conn.execute(
            "DELETE FROM asset_tags WHERE asset_id IN (SELECT id FROM assets WHERE source=?)",
            (rel,),
        )
        conn.execute("DELETE FROM assets WHERE source=?", (rel,))

    def update_log(self, asset_id: str, *, size: int, lines: int) -> None:
        """Record the current size and line count of a log asset."""
        self.flush()  # its record may still be in the batch
        with self.db.write() as conn:
            conn.execute("UPDATE assets SET size=?, lines=? WHERE id=?", (size, lines, asset_id))

    def refresh_logs(self, run_id: str) -> None:
        """Re-read the size and line count of every log of ``run_id`` from its file."""
        self.flush()
        rows = self.db.fetchall(
            "SELECT id, path FROM assets WHERE run_id=? AND kind='log'", (run_id,)
        )
        if not rows:
            return
        stats = [(*log_stats(self.root, path), asset_id) for asset_id, path in rows]
        with self.db.write() as conn:
            conn.executemany("UPDATE assets SET size=?, lines=? WHERE id=?", stats)

    def upsert_runs(self, runs: Iterable[tuple[ScopeKey, RunDocument, str | None]]) -> None:
        """Store the rows of runs from their ``run.json`` documents (and file signatures)."""
        rows = [run_row(key, doc, signature) for key, doc, signature in runs]
        if rows:
            with self.db.write() as conn:
                conn.executemany(UPSERT_RUN, rows)

    # -- reconcile bookkeeping ------------------------------------------------------------

    def known_sources(self) -> dict[str, tuple[int, int]]:
        """Every indexed manifest: (inode, offset read up to), by its relative path."""
        rows = self.db.fetchall("SELECT path, inode, offset FROM sources")
        return {p: (int(i), int(o)) for p, i, o in rows}

    def asset_sources(self) -> set[str]:
        return {s for (s,) in self.db.fetchall("SELECT DISTINCT source FROM assets")}

    def known_runs(self) -> dict[str, tuple[str | None, str]]:
        """Every indexed run: (signature of its run.json, status), by run id."""
        rows = self.db.fetchall("SELECT run_id, signature, status FROM runs")
        return {r: (s, st) for r, s, st in rows}

    def drop(self, sources: Iterable[str], run_ids: Iterable[str]) -> None:
        """Forget the records of vanished manifests and the rows of vanished runs."""
        sources, run_ids = list(sources), list(run_ids)
        if not sources and not run_ids:
            return
        with self.db.write() as conn:
            for rel in sources:
                self._drop_source(conn, rel)
                conn.execute("DELETE FROM sources WHERE path=?", (rel,))
            conn.executemany("DELETE FROM runs WHERE run_id=?", [(r,) for r in run_ids])

    def forget_offsets(self) -> None:
        """Make the next reconcile re-read every manifest and run file (a rebuild)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM sources")
            conn.execute("UPDATE runs SET signature=NULL")

    # -- queries ----------------------------------------------------------------------------

    def query_assets(self, where: AssetFilter, limit: int | None) -> list[Asset]:
        """Assets matching every filter of ``where``, newest first."""
        clause, args = asset_filters(*where)
        sql = f"SELECT {ASSET_SELECT} FROM assets{clause} ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._rows.assets(self.db.fetchall(sql, args))

    def count_assets(self, where: AssetFilter) -> int:
        clause, args = asset_filters(*where)
        return int(self.db.fetchone(f"SELECT COUNT(*) FROM assets{clause}", args)[0])

    def running_runs(self) -> list[ScopeKey]:
        """The runs the index believes are running."""
        rows = self.db.fetchall(
            "SELECT project, experiment, run_id FROM runs WHERE status='running'"
        )
        return run_keys(rows)

    def query_runs(
        self,
        *,
        statuses: Sequence[str] | None,
        columns: Sequence[tuple[str, str | None]],
        limit: int | None,
        interrupted: Sequence[str] = (),
    ) -> list[ScopeKey]:
        """Keys of the runs matching every filter, newest first. ``interrupted``: run ids
        whose owner is known dead, filtered as ``interrupted`` whatever their row says."""
        clauses: list[str] = []
        args: list[Any] = []
        if statuses is not None:
            status = "status"
            if interrupted:
                status = (
                    f"(CASE WHEN run_id IN ({', '.join('?' * len(interrupted))}) "
                    "THEN 'interrupted' ELSE status END)"
                )
                args.extend(interrupted)
            clauses.append(f"{status} IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        for column, value in columns:
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = (
            f"SELECT project, experiment, run_id FROM runs{where} "
            "ORDER BY created_at DESC, run_id DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return run_keys(self.db.fetchall(sql, args))

    def run_location(self, run_id: str) -> ScopeKey | None:
        """Where the run ``run_id`` lives, per the index."""
        row = self.db.fetchone("SELECT project, experiment FROM runs WHERE run_id=?", (run_id,))
        keys = run_keys([(row[0], row[1], run_id)]) if row is not None else []
        return keys[0] if keys else None

    def close(self) -> None:
        """Commit batched records and close the connection of this process."""
        self._batcher.stop()
        self.db.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
