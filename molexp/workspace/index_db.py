"""The SQLite file of the catalog: opening it safely, and its write transactions.

WAL journal (a rollback journal on network filesystems, where WAL is unsafe), a long
``busy_timeout``, and every write transaction taken with ``BEGIN IMMEDIATE`` under an
inter-process ``flock``, so concurrent writers queue instead of failing with "database is
locked". The file is derived data: an unreadable or linked file is moved aside and
re-derived, and a read-only workspace gets an index in memory for the process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from molexp.workspace.atomic import READ_ONLY_ERRNOS, FileLock, ensure_dir
from molexp.workspace.errors import WorkspaceError
from molexp.workspace.index_rows import SCHEMA, SCHEMA_VERSION
from molexp.workspace.layout import CATALOG_DB, CATALOG_DIR, CATALOG_LOCK

__all__ = ["IndexDB"]

log = logging.getLogger("molexp.workspace")

_NETWORK_FS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "fuse.sshfs")
_CORRUPT_MESSAGES = ("file is not a database", "malformed", "not a database")


def _read_only_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in READ_ONLY_ERRNOS
    text = str(exc)
    return "readonly" in text or "read-only" in text or "unable to open" in text


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


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


class IndexDB:
    """The connection of this process to ``<root>/.molexp/catalog.sqlite`` (opened, created
    and schema-checked on first use; a new one after a fork)."""

    def __init__(self, root: Path, *, fsync: bool) -> None:
        self.root = root
        self.fsync = fsync
        self.path = root / CATALOG_DIR / CATALOG_DB
        self.lock = threading.RLock()
        """Serialises this process's use of the connection."""
        self.in_memory = False
        """True when the workspace is read-only: the index lives in memory for this process."""
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._file_lock = FileLock(root / CATALOG_DIR / CATALOG_LOCK)

    def connection(self) -> sqlite3.Connection:
        with self.lock:
            if self._conn is not None and self._pid == os.getpid():
                return self._conn
            self._conn = None  # inherited through fork: never use a parent's connection
            if not self.in_memory:
                try:
                    conn = self._open_file()
                except (OSError, sqlite3.OperationalError) as exc:
                    if not _read_only_error(exc):
                        raise
                    log.warning(
                        "workspace %s is read-only (%s): using a temporary index in memory, "
                        "derived from its manifests; nothing is written",
                        self.root,
                        exc,
                    )
                    self.in_memory = True
            if self.in_memory:
                conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                _create_schema(conn)
            self._conn, self._pid = conn, os.getpid()
            return conn

    def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        conn = self.connection()
        with self.lock:
            return conn.execute(sql, args).fetchall()

    def fetchone(self, sql: str, args: Sequence[Any] = ()) -> Any:
        conn = self.connection()
        with self.lock:
            return conn.execute(sql, args).fetchone()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction under the inter-process lock."""
        conn = self.connection()
        # An index in memory is this process's alone: no file lock (none could be taken).
        with self.lock, contextlib.nullcontext() if self.in_memory else self._file_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=120.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA busy_timeout=120000")
        network = _filesystem_type(self.root) in _NETWORK_FS
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
                _create_schema(conn)
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', ?)",
                    (SCHEMA_VERSION,),
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return conn

    def _open_file(self) -> sqlite3.Connection:
        """The index file, created, checked and (when unreadable or linked) re-derived."""
        if self.path.parent.is_symlink():
            raise WorkspaceError(
                f"{str(self.path.parent)!r} is a symbolic link; molexp keeps its index "
                "inside the workspace and does not write through it. Remove the link"
            )
        ensure_dir(self.path.parent, fsync=self.fsync)
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
