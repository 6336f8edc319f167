"""The per-scope manifest: an append-only JSON-lines file of asset records.

It is the source of truth for the assets of its scope. Appends are O(1): under an
exclusive ``flock`` a writer first catches up with what other processes appended, then
writes its record(s) with one ``write`` and (by default) ``fdatasync``; a manifest kept open
for many appends (a run's) lets concurrent writers share that ``fdatasync`` (group commit,
see ``molexp.workspace.group_commit``): the writer appends with ``deferred=True``, lets go
of the lock and waits with ``wait(end)`` or ``await wait_async(end)`` of ``writer.commit``.
A process killed mid-append can leave a torn last line; readers stop at the last newline,
and the next writer terminates the torn line so it becomes one skipped line, never a
merged record.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from molexp.workspace.atomic import dump_json_line, write_all
from molexp.workspace.errors import AssetNameError
from molexp.workspace.group_commit import GroupCommit
from molexp.workspace.layout import ScopeKey
from molexp.workspace.names import parent_folders
from molexp.workspace.records import AssetRecord, record_problem

__all__ = ["Manifest", "ManifestIndex", "ManifestWriter", "read_records"]

log = logging.getLogger("molexp.workspace")

# Never through a symbolic link: a manifest copied in with a run could point anywhere.
_reported: set[tuple[str, int]] = set()
"""Bad manifest lines already logged (file, byte offset)."""
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
_WRITE_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW


def _parse_lines(chunk: bytes, path: Path, start: int) -> tuple[list[AssetRecord], int]:
    """Parse complete lines of ``chunk``; return the records and the count of bad lines.

    Every record passes ``record_problem`` here, the one door from a manifest into memory:
    a line that is not JSON or not a usable record is logged (file, byte, why) and skipped.
    """
    records: list[AssetRecord] = []
    bad = 0
    position = start
    for line in chunk.split(b"\n"):
        at, position = position, position + len(line) + 1
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (UnicodeDecodeError, ValueError):
            problem: str | None = "not a JSON line"
        else:
            problem = record_problem(record)
        if problem is not None:
            bad += 1
            if (str(path), at) not in _reported:  # once per process, not once per reader
                _reported.add((str(path), at))
                log.warning("%s: skipping the manifest record at byte %d: %s", path, at, problem)
            continue
        records.append(cast(AssetRecord, record))
    return records, bad


def read_records(path: Path, offset: int = 0) -> tuple[list[AssetRecord], int, int]:
    """Records of the complete lines of ``path`` from ``offset``: (records, end, bad lines).

    A torn last line (no newline) is left out and ``end`` stops before it.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return [], offset, 0
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        log.warning("%s is a symbolic link; not followed, its records are skipped", path)
        return [], offset, 0
    with os.fdopen(fd, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    cut = data.rfind(b"\n") + 1
    records, bad = _parse_lines(data[:cut], path, offset)
    return records, offset + cut, bad


class ManifestIndex:
    """The records of one manifest, indexed by (kind, name), as far as they were read."""

    __slots__ = ("bad_lines", "by_key", "by_name", "folders", "names", "records")

    def __init__(self) -> None:
        self.records: list[AssetRecord] = []
        self.by_key: dict[tuple[str, str], list[AssetRecord]] = {}
        self.names: dict[str, set[str]] = {}
        self.folders: dict[str, set[str]] = {}
        self.bad_lines = 0
        self.by_name: dict[str, AssetRecord] = {}
        """The newest record of each name, whatever its kind."""

    def add(self, record: AssetRecord) -> None:
        record.pop("inline", None)  # embedded bytes are for recovery, not kept in memory
        record.pop("inline_b64", None)
        kind, name = str(record["kind"]), str(record["name"])
        self.records.append(record)
        self.by_name[name] = record
        versions = self.by_key.get((kind, name))
        if versions is None:
            self.by_key[(kind, name)] = [record]
            self.names.setdefault(kind, set()).add(name)
            self.folders.setdefault(kind, set()).update(parent_folders(name))
        else:
            versions.append(record)

    def latest(self, kind: str, name: str) -> AssetRecord | None:
        versions = self.by_key.get((kind, name))
        return versions[-1] if versions else None

    def versions(self, kind: str, name: str) -> list[AssetRecord]:
        return list(self.by_key.get((kind, name), ()))

    def next_version(self, kind: str, name: str) -> int:
        versions = self.by_key.get((kind, name))
        return 1 if not versions else max(int(r["version"]) for r in versions[-4:]) + 1


class ManifestWriter:
    """What a writer holding the manifest lock may do: read the index, append records."""

    __slots__ = ("_fd", "_manifest", "commit")

    def __init__(self, manifest: Manifest, fd: int) -> None:
        self._manifest = manifest
        self._fd = fd
        self.commit: GroupCommit | None = None
        """The group commit the last deferred append registered with (None: it was durable
        on return). The caller waits on this one, not on whatever the manifest holds when it
        gets to wait: a ``close`` in between (whose final sync may fail) replaces that."""

    @property
    def index(self) -> ManifestIndex:
        return self._manifest._index

    @property
    def end(self) -> int:
        """Size of the manifest: every byte before it is read into the index."""
        return self._manifest._offset

    @property
    def inode(self) -> int:
        return os.fstat(self._fd).st_ino

    def append(self, *records: AssetRecord, deferred: bool = False) -> int:
        """Append ``records``; return the manifest size after them.

        They are durable on return, or with ``deferred`` once ``self.commit.wait`` (or
        ``wait_async``) of that size returns (when ``self.commit`` is not None): the caller
        waits after letting go of the lock, so that concurrent writers share one fsync.
        """
        manifest = self._manifest
        data = b"".join(dump_json_line(r) for r in records)
        write_all(self._fd, data)
        end = manifest._offset + len(data)
        if manifest.fsync:
            commit = manifest._group_commit(self._fd) if deferred else None
            if commit is None:
                os.fdatasync(self._fd)
            else:
                commit.written(end)
            self.commit = commit
        manifest._offset = end
        for record in records:
            manifest._index.add(record)
        return manifest._offset


class Manifest:
    """One scope's ``manifest.jsonl`` with an incrementally caught-up in-memory index."""

    def __init__(self, path: Path, key: ScopeKey, *, fsync: bool = True) -> None:
        self.path = path
        self.key = key
        self.fsync = fsync
        self._lock = threading.Lock()
        self._index = ManifestIndex()
        self._offset = 0
        self._inode: int | None = None
        self._fd: int | None = None  # kept open between writes while ``keep_open``
        self._fd_pid = 0
        self._commit: GroupCommit | None = None  # on the descriptor kept open
        self.keep_open = False

    def _reset_if_replaced(self, st: os.stat_result) -> None:
        if self._inode != st.st_ino or st.st_size < self._offset:
            if self._inode is not None:
                log.warning("%s was replaced or truncated; re-reading it", self.path)
            self._index = ManifestIndex()
            self._offset = 0
            self._inode = st.st_ino

    def _catch_up(self, fd: int, *, repair: bool) -> None:
        st = os.fstat(fd)
        self._reset_if_replaced(st)
        if st.st_size == self._offset:
            return
        data = os.pread(fd, st.st_size - self._offset, self._offset)
        cut = data.rfind(b"\n") + 1
        records, bad = _parse_lines(data[:cut], self.path, self._offset)
        for record in records:
            self._index.add(record)
        self._index.bad_lines += bad
        self._offset += cut
        if repair and cut < len(data):
            # Under the lock nobody is writing: the tail is a crashed writer's torn line.
            log.warning("%s: terminating a torn last line left by a crashed writer", self.path)
            write_all(fd, b"\n")
            self._offset += len(data) - cut + 1
            self._index.bad_lines += 1

    def index(self) -> ManifestIndex:
        """The index, caught up with every complete line written so far (no file lock)."""
        with self._lock:
            try:
                fd = os.open(self.path, _READ_FLAGS)
            except FileNotFoundError:
                return self._index
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                log.warning("%s is a symbolic link; not followed", self.path)
                return self._index
            try:
                self._catch_up(fd, repair=False)
            finally:
                os.close(fd)
            return self._index

    def _group_commit(self, fd: int) -> GroupCommit | None:
        """The group commit of the descriptor kept open (None when ``fd`` is not it)."""
        if fd != self._fd:
            return None
        if self._commit is None:
            self._commit = GroupCommit(fd)
        return self._commit

    def _open_for_write(self) -> int:
        fd = self._fd
        if fd is not None and self._fd_pid == os.getpid():
            return fd
        self._fd = None
        self._commit = None  # a forked child's: its parent syncs its own appends
        try:
            fd = os.open(self.path, _WRITE_FLAGS, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise AssetNameError(
                f"{str(self.path)!r} is a symbolic link; molexp does not write through it"
            ) from None
        if self.keep_open:
            self._fd, self._fd_pid = fd, os.getpid()
        return fd

    @contextmanager
    def writer(self) -> Iterator[ManifestWriter]:
        """Hold the manifest exclusively (threads and processes) with a caught-up index."""
        with self._lock:
            fd = self._open_for_write()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._catch_up(fd, repair=True)
                yield ManifestWriter(self, fd)
            finally:
                if fd == self._fd:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                else:
                    os.close(fd)

    def close(self) -> None:
        """Close the descriptor kept open for writing (if any)."""
        with self._lock:
            self.keep_open = False
            commit, self._commit = self._commit, None
            try:
                if commit is not None and self._fd_pid == os.getpid():
                    commit.close()  # what deferred appends wrote is durable before closing
            except OSError as exc:
                # Every deferred append it covered has a writer waiting on ``commit``, who
                # gets this error: closing the run must go on (drain, final status).
                log.warning("%s: %s", self.path, exc)
            finally:
                if self._fd is not None and self._fd_pid == os.getpid():
                    os.close(self._fd)
                self._fd = None

    @property
    def offset(self) -> int:
        """Bytes of the file read into the index so far."""
        return self._offset
