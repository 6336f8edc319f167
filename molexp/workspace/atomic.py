"""Crash-safe file primitives: atomic replace, durable appends, inter-process locks.

Every metadata file is replaced atomically (write a temp file in the same folder, fsync,
rename over the target, fsync the folder), so a reader sees the old or the new content,
never a torn one. Locks are ``flock`` locks on a lock file combined with a thread lock, so
they serialize threads of one process and separate processes alike; the kernel releases a
``flock`` when its process dies, so a crashed writer never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "READ_ONLY_ERRNOS",
    "FileLock",
    "atomic_write_bytes",
    "atomic_write_json",
    "dump_json_line",
    "ensure_dir",
    "fsync_dir",
    "readable_json",
    "try_lock",
    "write_all",
]

READ_ONLY_ERRNOS = frozenset((errno.EROFS, errno.EACCES, errno.EPERM))
"""What a write into a read-only workspace (a read-only mount, no permission) fails with."""
_OPEN_LOCK = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW  # never through a link


def write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until every byte is written (regular files rarely write short)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path, *, fsync: bool) -> None:
    """Create ``path`` and its missing parents; with ``fsync`` make the new entries durable."""
    if path.is_dir():
        return
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    if fsync:
        for created in reversed(missing):
            fsync_dir(created.parent)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path`` by ``data`` atomically (temp file, fsync, rename, fsync folder)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any, *, fsync: bool = True) -> None:
    """Write ``value`` as indented, key-sorted JSON atomically."""
    atomic_write_bytes(path, (readable_json(value) + "\n").encode(), fsync=fsync)


_PRETTY_MAX = 16 * 1024
"""Compact size up to which a document is indented all the way down."""


def readable_json(value: Any) -> str:
    """Key-sorted JSON a person can read: indented all the way when small. A large document
    (run.json with the execution of a 1,000-task workflow) is indented two levels deep,
    with the values below compact, because Python indents only with its pure-Python
    encoder: 3x slower than the C one at that size (10.6 vs 3.5 ms a write). Each value of
    a large document is encoded once."""
    tree = _pieces(value, 0)
    if _size(tree) <= _PRETTY_MAX:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return _assembled(tree, 0)


_INDENTED_LEVELS = 2


class _Container:
    """An object or array indented at its level: its items as (encoded key or None, piece)."""

    __slots__ = ("brackets", "items")

    def __init__(self, items: list[tuple[str | None, _Container | str]], brackets: str) -> None:
        self.items = items
        self.brackets = brackets


def _pieces(value: Any, depth: int) -> _Container | str:
    if depth < _INDENTED_LEVELS and value and isinstance(value, (dict, list, tuple)):
        if isinstance(value, dict):
            return _Container(
                [
                    (json.dumps(key, ensure_ascii=False), _pieces(value[key], depth + 1))
                    for key in sorted(value)
                ],
                "{}",
            )
        return _Container([(None, _pieces(item, depth + 1)) for item in value], "[]")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _size(piece: _Container | str) -> int:
    if isinstance(piece, str):
        return len(piece)
    return sum(len(key or "") + 2 + _size(item) for key, item in piece.items)


def _assembled(piece: _Container | str, depth: int) -> str:
    if isinstance(piece, str):
        return piece
    pad = "  " * (depth + 1)
    items = []
    for key, item in piece.items:
        text = _assembled(item, depth + 1)
        items.append(f"{pad}{text}" if key is None else f"{pad}{key}: {text}")
    opening, closing = piece.brackets[0], piece.brackets[1]
    return opening + "\n" + ",\n".join(items) + "\n" + "  " * depth + closing


def dump_json_line(value: Any) -> bytes:
    """One compact JSON line (``\\n``-terminated) for an append-only JSON-lines file."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode()


class FileLock:
    """An exclusive lock across threads and processes, held through ``flock`` on ``path``.

    Not re-entrant. The lock file is opened on acquire and closed on release, so an idle
    lock costs no file descriptor.
    """

    __slots__ = ("_fd", "_thread_lock", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fd = os.open(self.path, _OPEN_LOCK, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        fd, self._fd = self._fd, None
        try:
            if fd is not None:
                os.close(fd)  # closing the only descriptor releases the flock
        finally:
            self._thread_lock.release()

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def try_lock(path: Path) -> int | None:
    """Take an exclusive ``flock`` on ``path`` without waiting: the descriptor, or None.

    The caller owns the descriptor; closing it releases the lock (so does process death).
    """
    fd = os.open(path, _OPEN_LOCK, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd
