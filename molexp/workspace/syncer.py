"""Deferred flushing of small version files whose bytes are already durable in the manifest.

A small artifact or checkpoint (up to ``INLINE_MAX`` bytes) is saved with ONE synchronous
flush: its bytes are embedded in its manifest record, which is fsynced before ``save``
returns, so the data is durable when the call returns. Its file is written complete (via
rename) but not flushed one by one; the run context flushes them all when it closes (with
one ``syncfs`` per filesystem where available, else one ``fdatasync`` per file) before it
writes the run's final status, and every ``MAX_PENDING`` files in between. So a run that
reads ``succeeded`` has every file on disk, and a run whose process (or machine) died reads
``interrupted`` and its small files are verified against their records and restored from
the manifest (``Run.verify_files``).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import threading
import weakref
from collections.abc import Callable

__all__ = ["INLINE_MAX", "MAX_PENDING", "FileSyncer"]

log = logging.getLogger("molexp.workspace")

INLINE_MAX = 16 * 1024
"""Largest payload (bytes) made durable through its manifest record."""
MAX_PENDING = 4096
"""Files written but not yet flushed before a flush is forced."""


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return syncfs


_SYNCFS = _load_syncfs()
_SYNCERS: weakref.WeakSet[FileSyncer] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for syncer in list(_SYNCERS):
        try:
            syncer.drain()
        except OSError:
            pass  # restored from the manifests if it never reaches the disk


def flush_files(paths: list[str]) -> None:
    """Make ``paths`` durable: ``syncfs`` once per filesystem, or ``fdatasync`` each."""
    if not paths:
        return
    if _SYNCFS is not None and len(paths) > 4:
        folders: dict[int, str] = {}
        for path in paths:
            folder = os.path.dirname(path)
            if folder not in folders.values():
                folders.setdefault(os.stat(folder).st_dev, folder)
        for folder in folders.values():
            fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _SYNCFS(fd) != 0:
                    break  # fall back to per-file flushes below
            finally:
                os.close(fd)
        else:
            return
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)


class FileSyncer:
    """The files of this process written without a flush, flushed on ``drain``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: list[str] = []
        self._pid = os.getpid()
        _SYNCERS.add(self)

    def submit(self, path: str) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent flushes its own files
                self._paths, self._pid = [], os.getpid()
            self._paths.append(path)
            full = len(self._paths) >= MAX_PENDING
        if full:
            self.drain()

    def drain(self) -> None:
        """Flush every file submitted so far by this process."""
        with self._lock:
            if self._pid != os.getpid():
                self._paths, self._pid = [], os.getpid()
            paths, self._paths = self._paths, []
        try:
            flush_files(paths)
        except OSError as exc:
            log.warning(
                "could not flush %d files (%s); their manifest records keep the data",
                len(paths),
                exc,
            )
