"""Background fsync of small version files whose bytes are already durable in the manifest.

A small artifact or checkpoint (up to ``INLINE_MAX`` bytes) is saved with ONE synchronous
fsync: its bytes are embedded in the manifest record, which is fsynced before ``save``
returns, so the data is durable when the call returns. Its file is written (complete, via
rename) but fsynced here, on a daemon thread, where the kernel merges these flushes with the
manifest's (group commit). A run context waits for this queue to drain before it writes the
run's final status, so a run that reads ``succeeded`` has every file on disk; a run whose
process died reads ``interrupted`` and its small files are verified against their records
and restored from the manifest (``Run.verify_files``).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque

__all__ = ["INLINE_MAX", "FileSyncer"]

log = logging.getLogger("molexp.workspace")

INLINE_MAX = 16 * 1024
"""Largest payload (bytes) made durable through its manifest record."""

_SYNCERS: weakref.WeakSet[FileSyncer] = weakref.WeakSet()


@atexit.register
def _drain_at_exit() -> None:
    for syncer in list(_SYNCERS):
        syncer.drain()


class FileSyncer:
    """A queue of file paths fsynced in submission order by one daemon thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._submitted = 0
        self._done = 0
        self._pid = 0
        self._thread: threading.Thread | None = None
        _SYNCERS.add(self)

    def submit(self, path: str) -> None:
        with self._cond:
            if self._pid != os.getpid():  # forked: the parent syncs its own queue
                self._queue.clear()
                self._submitted = self._done = 0
                self._thread = None
                self._pid = os.getpid()
            self._queue.append(path)
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="molexp-fsync", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                path = self._queue.popleft()
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fdatasync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:  # restored from the manifest if it never reaches disk
                log.warning("could not fsync %s: %s", path, exc)
            with self._cond:
                self._done += 1
                self._cond.notify_all()

    def drain(self) -> None:
        """Wait until every path submitted so far (by this process) is fsynced."""
        with self._cond:
            if self._pid != os.getpid() or self._thread is None:
                return
            target = self._submitted
            while self._done < target:
                self._cond.wait()
