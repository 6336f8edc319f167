"""The workspace catalog: a SQLite index over every manifest and ``run.json``.

The catalog is *derived*: the per-scope manifests and the ``run.json`` files are the source
of truth, and ``rebuild()`` recreates the index from them. It is kept current as records are
written (the insert happens while the writer still holds the manifest lock, so the catalog
sees each manifest in file order and can remember how far it has read it), and it is
reconciled automatically when a ``Workspace`` first opens it: manifests that grew since
(a writer killed between its manifest append and its catalog insert, a run folder copied in
from elsewhere) are indexed from where the catalog stopped, runs whose owner died are
marked ``interrupted``, and runs or manifests that disappeared are dropped.

Concurrency: WAL journal (rollback journal on network filesystems, where WAL is unsafe), a
long ``busy_timeout``, and every write transaction taken with ``BEGIN IMMEDIATE`` under an
inter-process ``flock``, so concurrent writers queue instead of failing with "database is
locked".
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import json
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from molexp.workspace.assets import (
    ASSET_CLASSES,
    KINDS,
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    DataAsset,
    LogAsset,
    Producer,
)
from molexp.workspace.atomic import READ_ONLY_ERRNOS, FileLock, ensure_dir
from molexp.workspace.errors import CorruptRunError, WorkspaceError
from molexp.workspace.layout import CATALOG_DB, CATALOG_DIR, CATALOG_LOCK, MANIFEST, ScopeKey
from molexp.workspace.manifest import read_records
from molexp.workspace.storage import log_stats

if TYPE_CHECKING:
    from molexp.workspace.run import Run
    from molexp.workspace.workspace import Workspace

__all__ = ["Catalog", "ReconcileReport"]

log = logging.getLogger("molexp.workspace")

SCHEMA_VERSION = "1"
_NETWORK_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "fuse.sshfs")

_CORRUPT_MESSAGES = ("file is not a database", "malformed", "not a database")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assets(
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
    scope TEXT NOT NULL, project TEXT, experiment TEXT, run_id TEXT,
    path TEXT NOT NULL, external INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL, sha256 TEXT, media_type TEXT NOT NULL, encoding TEXT NOT NULL,
    type_name TEXT, created_at REAL NOT NULL,
    producer_run TEXT, producer_project TEXT, producer_experiment TEXT,
    producer_task TEXT, workflow TEXT, attempt INTEGER,
    lines INTEGER, previous TEXT, tags TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS assets_name ON assets(name, created_at);
CREATE INDEX IF NOT EXISTS assets_kind ON assets(kind, created_at);
CREATE INDEX IF NOT EXISTS assets_task ON assets(producer_task, created_at);
CREATE INDEX IF NOT EXISTS assets_run ON assets(run_id, created_at);
CREATE INDEX IF NOT EXISTS assets_scope ON assets(project, experiment, created_at);
CREATE INDEX IF NOT EXISTS assets_source ON assets(source);
CREATE TABLE IF NOT EXISTS asset_tags(
    tag TEXT NOT NULL, asset_id TEXT NOT NULL, PRIMARY KEY(tag, asset_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs(
    run_id TEXT PRIMARY KEY, project TEXT NOT NULL, experiment TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL, started_at REAL, finished_at REAL,
    profile TEXT, config_hash TEXT, attempt INTEGER NOT NULL DEFAULT 0,
    params TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
    path TEXT NOT NULL, signature TEXT);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, created_at);
CREATE INDEX IF NOT EXISTS runs_scope ON runs(project, experiment, created_at);
"""

_ASSET_COLUMNS = (
    "id, kind, name, version, scope, project, experiment, run_id, path, external, size, "
    "sha256, media_type, encoding, type_name, created_at, producer_run, producer_project, "
    "producer_experiment, producer_task, workflow, attempt, lines, previous, tags"
)
_INSERT_ASSET = (
    f"INSERT OR REPLACE INTO assets({_ASSET_COLUMNS}, source) VALUES ({', '.join('?' * 26)})"
)
_UTC = _dt.UTC


FLUSH_DELAY = 0.05
"""Seconds a batch of asset records may wait before the flusher commits it."""
FLUSH_COUNT = 2000


class _Pending:
    __slots__ = ("end", "inode", "key", "manifest", "records", "start")

    def __init__(
        self,
        key: ScopeKey,
        manifest: Path,
        records: list[Mapping[str, Any]],
        start: int,
        end: int,
        inode: int,
    ) -> None:
        self.key = key
        self.manifest = manifest
        self.records = records
        self.start = start
        self.end = end
        self.inode = inode


_OPEN_CATALOGS: weakref.WeakSet[Catalog] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for catalog in list(_OPEN_CATALOGS):
        try:
            catalog.flush()
        except Exception:
            pass


_UPSERT_RUN = (
    "INSERT OR REPLACE INTO runs(run_id, project, experiment, status, created_at, started_at, "
    "finished_at, profile, config_hash, attempt, params, tags, path, signature) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _run_row(run: Run, doc: Mapping[str, Any], signature: str | None) -> tuple[Any, ...]:
    profile = doc.get("profile") or {}
    return (
        run.id,
        run.project_name,
        run.experiment_name,
        str(doc.get("status", "pending")),
        _timestamp(doc.get("created_at")),
        _timestamp(doc.get("started_at")),
        _timestamp(doc.get("finished_at")),
        profile.get("name"),
        profile.get("hash"),
        int(doc.get("attempt", 0)),
        json.dumps(doc.get("params", {}), sort_keys=True),
        json.dumps(doc.get("tags", [])),
        run.key.relpath(),
        signature,
    )


@attrs.frozen
class DamagedRun:
    """A run folder whose ``run.json`` cannot be read: where it is and what is wrong."""

    key: ScopeKey
    problem: str
    """The error, naming the file (``run <id>: <path>/run.json: ...``)."""

    @property
    def run_id(self) -> str:
        return str(self.key.run_id)


def _run_keys(rows: Iterable[Sequence[Any]]) -> list[ScopeKey]:
    """The run keys of catalog rows (project, experiment, run id); a row whose names could
    not be folder names (a hand-edited or foreign index) is skipped with a warning."""
    keys = []
    for project, experiment, run_id in rows:
        try:
            keys.append(ScopeKey("run", project, experiment, run_id))
        except (TypeError, ValueError) as exc:
            log.warning("catalog row of run %r skipped: %s", run_id, exc)
    return keys


def _read_only_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in READ_ONLY_ERRNOS
    text = str(exc)
    return "readonly" in text or "read-only" in text or "unable to open" in text


_DAMAGED_LOGGED: set[str] = set()
damaged_log = logging.getLogger("molexp.workspace.damaged")
"""Where damaged runs are reported (once per process); a CLI that lists them quiets it."""


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


def _filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (from /proc/self/mountinfo), or None."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount = fields[4].replace("\\040", " ")
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(
            best
        ):
            best, best_type = mount, right.split()[0]
    return best_type


def _timestamp(value: Any) -> float | None:
    if not value:
        return None
    return _dt.datetime.fromisoformat(str(value)).timestamp()


class Catalog:
    """Queries over every asset and run of a workspace (``ws.catalog``)."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._root = workspace.root
        self._root_str = str(workspace.root)
        self.path = self._root / CATALOG_DIR / CATALOG_DB
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.RLock()
        self._file_lock = FileLock(self._root / CATALOG_DIR / CATALOG_LOCK)
        self._reconciled = False
        self._damaged: dict[str, DamagedRun] = {}
        self._in_memory = False
        """True when the workspace is read-only: the index lives in memory for this process."""
        self._pending: list[_Pending] = []
        self._pending_count = 0
        self._pending_pid = os.getpid()
        self._pending_lock = threading.Lock()
        self._wake = threading.Condition(self._pending_lock)
        self._flush_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        _OPEN_CATALOGS.add(self)

    # -- connection ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._in_memory:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            return conn
        conn = sqlite3.connect(
            self.path, timeout=120.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA busy_timeout=120000")
        network = _filesystem_type(self._root) in _NETWORK_FS
        mode = "DELETE" if network else "WAL"
        current = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(current).upper() != mode:
            conn.execute(f"PRAGMA journal_mode={mode}")
        # The catalog is derived data: a power loss may cost its last transactions, which
        # the next reconcile re-derives from the (fsynced) manifests.
        conn.execute("PRAGMA synchronous=NORMAL")
        version = None
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            version = row[0] if row else None
        except sqlite3.OperationalError:
            pass
        if version != SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if version is not None:  # an older layout of the derived index: re-derive
                    for table in ("meta", "sources", "assets", "asset_tags", "runs"):
                        conn.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?)",
                    (SCHEMA_VERSION,),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return conn

    def _db(self) -> sqlite3.Connection:
        """The connection (opened, created and schema-checked on first use in a process)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                return self._conn
            self._conn = None  # inherited through fork: never use a parent's connection
            if not self._in_memory:
                try:
                    conn = self._open_file()
                except (OSError, sqlite3.OperationalError) as exc:
                    if not _read_only_error(exc):
                        raise
                    log.warning(
                        "workspace %s is read-only (%s): using a temporary index in memory, "
                        "derived from its manifests; nothing is written",
                        self._root,
                        exc,
                    )
                    self._in_memory = True
            if self._in_memory:
                conn = self._connect()
            self._conn, self._pid = conn, os.getpid()
            return conn

    def _open_file(self) -> sqlite3.Connection:
        """The index file, created, checked and (when unreadable or linked) re-derived."""
        if self.path.parent.is_symlink():
            raise WorkspaceError(
                f"{str(self.path.parent)!r} is a symbolic link; molexp keeps its index "
                "inside the workspace and does not write through it. Remove the link"
            )
        ensure_dir(self.path.parent, fsync=self._ws.fsync)
        with self._file_lock:
            self._move_links_aside()
            try:
                conn = self._connect()
            except sqlite3.DatabaseError as exc:
                if not any(m in str(exc) for m in _CORRUPT_MESSAGES):
                    raise
                # Derived data: move an unreadable index aside and re-derive it.
                aside = self.path.with_name(f"{CATALOG_DB}.corrupt-{int(time.time())}")
                log.warning("catalog %s is unreadable (%s); moved to %s", self.path, exc, aside)
                for suffix in ("", "-wal", "-shm"):
                    src = Path(str(self.path) + suffix)
                    if src.exists():
                        os.replace(src, Path(str(aside) + suffix))
                conn = self._connect()
        return conn

    def _move_links_aside(self) -> None:
        """SQLite follows symbolic links: a linked index file (a workspace copied in from
        elsewhere) is moved aside, as an unreadable one is, and the index re-derived."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(str(self.path) + suffix)
            if path.is_symlink():
                aside = path.with_name(f"{path.name}.link-{int(time.time())}")
                log.warning("catalog file %s is a symbolic link; moved to %s", path, aside)
                os.replace(path, aside)

    def _ready(self) -> sqlite3.Connection | None:
        """The connection after the once-per-open reconcile; None for a missing workspace."""
        if not self._root.is_dir():
            return None
        conn = self._db()
        if not self._reconciled:
            self._reconciled = True
            try:
                self.reconcile()
            except BaseException:
                self._reconciled = False
                raise
        self.flush()  # this process's batched records are visible to its own queries
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._db()
        # An index in memory is this process's alone: no file lock (none could be taken).
        with self._lock, contextlib.nullcontext() if self._in_memory else self._file_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Commit batched records and close the connection of this process."""
        if self._pending_pid == os.getpid():
            self.flush()
        with self._pending_lock:
            self._flusher = None
            self._wake.notify_all()
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    # -- writes (called by writers while they hold the scope's manifest lock) -------------

    def _source_rel(self, manifest: Path) -> str:
        return manifest.relative_to(self._root).as_posix()

    def add_records(
        self,
        key: ScopeKey,
        manifest: Path,
        records: Sequence[Mapping[str, Any]],
        *,
        start: int,
        end: int,
        inode: int,
    ) -> None:
        """Index ``records``, appended to ``manifest`` between byte ``start`` and ``end``.

        The insert is batched: it is committed within ``FLUSH_DELAY`` seconds by a daemon
        thread, before any query of this process, when the run context closes and at exit,
        so that a small durable save does not pay for a SQLite transaction (and the extra
        filesystem journal traffic it causes). A process killed before the batch is committed
        loses nothing: the records are in the manifest and the next open re-indexes them.
        """
        with self._pending_lock:
            if self._pending_pid != os.getpid():  # forked: the parent flushes its own batch
                self._pending, self._pending_count, self._flusher = [], 0, None
                self._pending_pid = os.getpid()
            was_empty = not self._pending
            last = None if was_empty else self._pending[-1]
            if last is not None and last.manifest == manifest and last.end == start:
                last.records.extend(records)  # contiguous with the previous batch
                last.end = end
            else:
                self._pending.append(_Pending(key, manifest, list(records), start, end, inode))
            self._pending_count += len(records)
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="molexp-catalog-flush", daemon=True
                )
                self._flusher.start()
            elif was_empty or self._pending_count >= FLUSH_COUNT:
                self._wake.notify()  # wake it only when there is something new to decide

    def _flush_loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._pending_lock:
                while not self._pending:
                    if self._flusher is not me:
                        return
                    self._wake.wait()
                # let a burst of saves gather into one transaction
                deadline = time.monotonic() + FLUSH_DELAY
                while self._pending_count < FLUSH_COUNT:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
            try:
                self.flush()
            except Exception as exc:
                self._ws._catalog_failed(exc)

    def flush(self) -> None:
        """Commit the batched asset records of this process now."""
        with self._flush_lock:
            with self._pending_lock:
                batch, self._pending, self._pending_count = self._pending, [], 0
            if not batch:
                return
            try:
                with self._write() as conn:
                    for pending in batch:
                        self._apply(conn, pending)
            except BaseException:
                self._reconciled = False  # the records are in the manifests: re-derive them
                raise

    def _apply(self, conn: sqlite3.Connection, pending: _Pending) -> None:
        """Index a contiguous run of records, or catch the source up from its file."""
        rel = self._source_rel(pending.manifest)
        row = conn.execute("SELECT inode, offset FROM sources WHERE path=?", (rel,)).fetchone()
        if (row is None and pending.start == 0) or (
            row is not None and tuple(row) == (pending.inode, pending.start)
        ):
            self._insert(conn, pending.key, rel, pending.records, from_files=False)
            new_offset = pending.end
        else:
            # Someone else's records come first (another process, or a writer that died
            # between its append and its insert): read the file from where we stopped.
            _, new_offset = self._sync_source(
                conn, pending.key, pending.manifest, rel, row, pending.inode
            )
            new_offset = max(new_offset, pending.end)
        conn.execute(
            "INSERT OR REPLACE INTO sources(path, inode, offset) VALUES (?, ?, ?)",
            (rel, pending.inode, new_offset),
        )

    def _sync_source(
        self,
        conn: sqlite3.Connection,
        key: ScopeKey,
        manifest: Path,
        rel: str,
        row: Any,
        inode: int,
    ) -> tuple[int, int]:
        """Index ``manifest`` from where the catalog stopped; (records indexed, new offset)."""
        offset = 0
        if row is not None and row[0] == inode:
            offset = int(row[1])
        else:
            conn.execute(
                "DELETE FROM asset_tags WHERE asset_id IN (SELECT id FROM assets WHERE source=?)",
                (rel,),
            )
            conn.execute("DELETE FROM assets WHERE source=?", (rel,))
        records, end, _ = read_records(manifest, offset)
        self._insert(conn, key, rel, records, from_files=True)
        conn.execute(
            "INSERT OR REPLACE INTO sources(path, inode, offset) VALUES (?, ?, ?)",
            (rel, inode, end),
        )
        return len(records), end

    def _insert(
        self,
        conn: sqlite3.Connection,
        key: ScopeKey,
        rel: str,
        records: Iterable[Mapping[str, Any]],
        *,
        from_files: bool,
    ) -> None:
        folder_rel = key.relpath()
        rows = []
        tags: list[tuple[str, str]] = []
        for r in records:
            try:
                kind = str(r["kind"])
                if kind not in ASSET_CLASSES:
                    raise ValueError(f"unknown kind {kind!r}")
                external = r.get("external")
                if external:
                    path = str(external)
                else:
                    path = f"{folder_rel}/{r['path']}" if folder_rel else str(r["path"])
                producer = r.get("producer") or {}
                lines = r.get("lines")
                size = int(r.get("size", 0))
                if kind == "log" and from_files:
                    size, lines = log_stats(self._root, path)
                record_tags = [str(t) for t in r.get("tags", ())]
                rows.append(
                    (
                        str(r["id"]),
                        kind,
                        str(r["name"]),
                        int(r["version"]),
                        key.scope,
                        key.project,
                        key.experiment,
                        key.run_id,
                        path,
                        1 if external else 0,
                        size,
                        r.get("sha256"),
                        str(r.get("media_type", "application/octet-stream")),
                        str(r.get("encoding", "bytes")),
                        r.get("type"),
                        _timestamp(r["created_at"]),
                        producer.get("run_id"),
                        producer.get("project"),
                        producer.get("experiment"),
                        producer.get("task_id"),
                        producer.get("workflow"),
                        producer.get("attempt"),
                        lines,
                        r.get("previous"),
                        json.dumps(record_tags),
                        rel,
                    )
                )
                tags.extend((t, str(r["id"])) for t in record_tags)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s: skipping malformed record %r (%s)", rel, r.get("id"), exc)
        conn.executemany(_INSERT_ASSET, rows)
        if tags:
            conn.executemany("INSERT OR IGNORE INTO asset_tags(tag, asset_id) VALUES (?, ?)", tags)

    def update_log(self, asset_id: str, *, size: int, lines: int) -> None:
        """Record the current size and line count of a log asset."""
        self.flush()  # its record may still be in the batch
        with self._write() as conn:
            conn.execute("UPDATE assets SET size=?, lines=? WHERE id=?", (size, lines, asset_id))

    def refresh_logs(self, run_id: str) -> None:
        """Re-read the size and line count of every log of ``run_id`` from its file."""
        conn = self._db()
        self.flush()
        with self._lock:
            rows = conn.execute(
                "SELECT id, path FROM assets WHERE run_id=? AND kind='log'", (run_id,)
            ).fetchall()
        if not rows:
            return
        stats = [(*log_stats(self._root, path), asset_id) for asset_id, path in rows]
        with self._write() as conn:
            conn.executemany("UPDATE assets SET size=?, lines=? WHERE id=?", stats)

    def upsert_run(self, run: Run, doc: Mapping[str, Any], signature: str | None) -> None:
        """Store the catalog row of ``run`` from its ``run.json`` document."""
        with self._write() as conn:
            conn.execute(_UPSERT_RUN, _run_row(run, doc, signature))

    # -- reconcile / rebuild -----------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Bring the catalog in line with the manifests and run files (done on open).

        No manifest lock is needed: each source is read from where the catalog stopped up
        to its last complete line, inside one catalog transaction, and batched inserts of
        live writers that arrive later find the offset moved and skip what is indexed.
        """
        if not self._root.is_dir():
            return ReconcileReport()
        conn = self._db()
        self.flush()
        with self._lock:
            known_sources = {
                p: (int(i), int(o))
                for p, i, o in conn.execute("SELECT path, inode, offset FROM sources")
            }
            known_runs = {
                r: (s, st)
                for r, s, st in conn.execute("SELECT run_id, signature, status FROM runs")
            }
            asset_sources = {s for (s,) in conn.execute("SELECT DISTINCT source FROM assets")}
        interrupted: list[str] = []
        seen_sources: set[str] = set()
        seen_runs: set[str] = set()
        todo: list[tuple[ScopeKey, Path, str, int]] = []
        run_rows: list[tuple[Any, ...]] = []
        for key, folder in self._ws._walk_scopes():
            manifest = folder / MANIFEST
            try:
                st = os.stat(manifest)
            except FileNotFoundError:
                st = None
            if st is not None:
                rel = self._source_rel(manifest)
                seen_sources.add(rel)
                if known_sources.get(rel) != (st.st_ino, st.st_size):
                    todo.append((key, manifest, rel, st.st_ino))
            if key.scope != "run":
                continue
            assert key.run_id is not None
            if key.run_id in seen_runs:
                log.warning("run id %s appears twice; indexing the first only", key.run_id)
                continue
            seen_runs.add(key.run_id)
            run = self._ws._run_handle(key)
            known = known_runs.get(key.run_id)
            try:
                if known is None or known[1] == "running" or known[0] != run._signature():
                    doc = run._live()  # marks a dead owner's run interrupted
                    run_rows.append(_run_row(run, doc, run._signature()))
                    if doc["status"] == "interrupted" and (
                        known is None or known[1] != "interrupted"
                    ):
                        interrupted.append(key.run_id)
            except CorruptRunError as exc:
                # Not indexed (an older row of it is dropped below), listed as damaged.
                seen_runs.discard(key.run_id)
                self._damaged[key.run_id] = DamagedRun(key, str(exc))
                if key.run_id not in _DAMAGED_LOGGED:
                    _DAMAGED_LOGGED.add(key.run_id)
                    damaged_log.warning("%s", exc)
            else:
                self._damaged.pop(key.run_id, None)
        indexed = 0
        if run_rows:
            with self._write() as conn:
                conn.executemany(_UPSERT_RUN, run_rows)
        for i in range(0, len(todo), 64):  # bounded transactions: writers never wait long
            with self._write() as conn:
                for key, manifest, rel, inode in todo[i : i + 64]:
                    row = conn.execute(
                        "SELECT inode, offset FROM sources WHERE path=?", (rel,)
                    ).fetchone()
                    count, _ = self._sync_source(conn, key, manifest, rel, row, inode)
                    indexed += count
        gone_sources = (set(known_sources) | asset_sources) - seen_sources
        gone_runs = set(known_runs) - seen_runs
        if gone_sources or gone_runs:
            with self._write() as conn:
                for rel in gone_sources:
                    conn.execute(
                        "DELETE FROM asset_tags WHERE asset_id IN "
                        "(SELECT id FROM assets WHERE source=?)",
                        (rel,),
                    )
                    conn.execute("DELETE FROM assets WHERE source=?", (rel,))
                    conn.execute("DELETE FROM sources WHERE path=?", (rel,))
                conn.executemany("DELETE FROM runs WHERE run_id=?", [(r,) for r in gone_runs])
        return ReconcileReport(
            records_indexed=indexed,
            manifests_synced=len(todo),
            runs_synced=len(run_rows),
            runs_interrupted=tuple(interrupted),
            removed_runs=len(gone_runs),
            removed_manifests=len(gone_sources),
            damaged_runs=tuple(sorted(self._damaged)),
        )

    def damaged_runs(self) -> list[DamagedRun]:
        """The runs whose ``run.json`` is unreadable or malformed, found by the last
        reconcile (they are left as they are, and left out of ``query_runs``)."""
        self._ready()
        return [self._damaged[r] for r in sorted(self._damaged)]

    def rebuild(self) -> ReconcileReport:
        """Re-derive the whole index from the manifests and run files.

        Rows are replaced manifest by manifest (never an empty catalog in between), so it
        is safe while other processes write.
        """
        self._reconciled = True
        with self._write() as conn:
            conn.execute("DELETE FROM sources")
            conn.execute("UPDATE runs SET signature=NULL")
        return self.reconcile()

    # -- queries --------------------------------------------------------------------------

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
        where, args = self._asset_filters(
            kind, name, producer_task, run, experiment, project, tag, scope, workflow
        )
        sql = f"SELECT {_ASSET_COLUMNS} FROM assets{where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            if not isinstance(limit, int) or limit < 1:
                raise ValueError(f"limit must be a positive integer, got {limit!r}")
            sql += f" LIMIT {limit}"
        conn = self._ready()
        if conn is None:
            return []
        with self._lock:
            rows = conn.execute(sql, args).fetchall()
        return [self._asset(row) for row in rows]

    def count_assets(self, **filters: Any) -> int:
        """How many assets match (same filters as ``query_assets`` but ``limit``)."""
        where, args = self._asset_filters(
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
        conn = self._ready()
        if conn is None:
            return 0
        with self._lock:
            return int(conn.execute(f"SELECT COUNT(*) FROM assets{where}", args).fetchone()[0])

    @staticmethod
    def _asset_filters(
        kind: str | None,
        name: str | None,
        producer_task: str | None,
        run: Any,
        experiment: str | None,
        project: str | None,
        tag: str | None,
        scope: str | None,
        workflow: str | None,
    ) -> tuple[str, list[Any]]:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
        if scope is not None and scope not in ("run", "experiment", "project", "workspace"):
            raise ValueError(
                f"unknown scope {scope!r}; expected run, experiment, project or workspace"
            )
        run_id = getattr(run, "id", run)
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("kind", kind),
            ("name", name),
            ("producer_task", producer_task),
            ("run_id", run_id),
            ("experiment", experiment),
            ("project", project),
            ("scope", scope),
            ("workflow", workflow),
        ):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        if tag is not None:
            clauses.append("id IN (SELECT asset_id FROM asset_tags WHERE tag=?)")
            args.append(tag)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def _asset(self, row: Sequence[Any]) -> Asset:
        (
            asset_id,
            kind,
            name,
            version,
            scope,
            project,
            experiment,
            run_id,
            path,
            external,
            size,
            sha256,
            media_type,
            encoding,
            type_name,
            created_at,
            p_run,
            p_project,
            p_experiment,
            p_task,
            workflow,
            attempt,
            lines,
            previous,
            tags,
        ) = row
        cls = ASSET_CLASSES[kind]
        producer = (
            Producer(
                run_id=p_run,
                project=p_project,
                experiment=p_experiment,
                task_id=p_task,
                workflow=workflow,
                attempt=attempt if attempt is not None else 1,
            )
            if p_run is not None
            else None
        )
        extra: dict[str, Any] = {}
        if cls is LogAsset:
            extra["line_count"] = lines or 0
        elif cls is CheckpointAsset:
            extra["previous"] = previous
        elif cls is DataAsset:
            extra["external"] = bool(external)
        return cls(
            id=asset_id,
            name=name,
            version=version,
            scope=scope,
            project=project,
            experiment=experiment,
            run_id=run_id,
            location=path if external else f"{self._root_str}/{path}",
            confined_to=None if external else self._root_str,
            size=size,
            sha256=sha256,
            media_type=media_type,
            encoding=encoding,
            created_at=_dt.datetime.fromtimestamp(created_at, _UTC),
            producer=producer,
            tags=tuple(json.loads(tags)) if tags != "[]" else (),
            type_name=type_name,
            **extra,
        )

    def query_runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        project: str | None = None,
        experiment: str | None = None,
        profile: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs matching every given filter, newest first (status checked for liveness)."""
        from molexp.workspace.run import RunStatus

        statuses: list[str] | None = None
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            valid = {s.value for s in RunStatus}
            bad = [s for s in statuses if s not in valid]
            if bad:
                raise ValueError(
                    f"unknown run status {bad[0]!r}; expected one of {', '.join(sorted(valid))}"
                )
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        conn = self._ready()
        if conn is None:
            return []
        self._refresh_running(conn)
        clauses: list[str] = []
        args: list[Any] = []
        if statuses is not None:
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        for column, value in (
            ("project", project),
            ("experiment", experiment),
            ("profile", profile),
        ):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        sql = f"SELECT project, experiment, run_id FROM runs{where} ORDER BY created_at DESC, run_id DESC"
        if limit is not None:
            sql += f" LIMIT {limit}"
        with self._lock:
            rows = conn.execute(sql, args).fetchall()
        return [self._ws._run_handle(key) for key in _run_keys(rows)]

    def _refresh_running(self, conn: sqlite3.Connection) -> None:
        """Re-check the owners of runs the catalog believes are running."""
        with self._lock:
            rows = conn.execute(
                "SELECT project, experiment, run_id FROM runs WHERE status='running'"
            ).fetchall()
        for key in _run_keys(rows):
            try:
                self._ws._run_handle(key).status  # noqa: B018
            except (CorruptRunError, LookupError) as exc:
                log.warning("%s", exc)

    def run_location(self, run_id: str) -> ScopeKey | None:
        """Where the run ``run_id`` lives, per the catalog."""
        conn = self._ready()
        if conn is None:
            return None
        with self._lock:
            row = conn.execute(
                "SELECT project, experiment FROM runs WHERE run_id=?", (run_id,)
            ).fetchone()
        keys = _run_keys([(row[0], row[1], run_id)]) if row is not None else []
        return keys[0] if keys else None
