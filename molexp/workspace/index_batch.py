"""Batched catalog inserts: records wait (at most ``FLUSH_DELAY``) to share one transaction.

A small durable save should not pay for a SQLite transaction (and the filesystem journal
traffic it causes): its records are queued here and committed by a daemon thread within
``FLUSH_DELAY`` seconds, before any query of this process, when a run context closes and
at exit. A process killed before the batch is committed loses nothing: the records are in
the manifest and the next open re-indexes them.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from molexp.workspace.layout import ScopeKey
from molexp.workspace.records import AssetRecord

__all__ = ["FLUSH_COUNT", "FLUSH_DELAY", "Batcher", "Pending"]

FLUSH_DELAY = 0.05
"""Seconds a batch of asset records may wait before the flusher commits it."""
FLUSH_COUNT = 2000


class Pending:
    """Records appended to ``manifest`` between byte ``start`` and ``end``."""

    __slots__ = ("end", "inode", "key", "manifest", "records", "start")

    def __init__(
        self,
        key: ScopeKey,
        manifest: Path,
        records: list[AssetRecord],
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


_BATCHERS: weakref.WeakSet[Batcher] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for batcher in list(_BATCHERS):
        try:
            batcher.flush()
        except Exception:
            pass


class Batcher:
    """The queue of this process's uncommitted records, handed to ``commit`` in order."""

    def __init__(
        self,
        commit: Callable[[list[Pending]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        self._commit = commit
        self._on_error = on_error
        self._pending: list[Pending] = []
        self._count = 0
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._flush_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        _BATCHERS.add(self)

    def add(self, pending: Pending) -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent flushes its own batch
                self._pending, self._count, self._flusher = [], 0, None
                self._pid = os.getpid()
            was_empty = not self._pending
            last = None if was_empty else self._pending[-1]
            if last is not None and last.manifest == pending.manifest and last.end == pending.start:
                last.records.extend(pending.records)  # contiguous with the previous batch
                last.end = pending.end
            else:
                self._pending.append(pending)
            self._count += len(pending.records)
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._loop, name="molexp-catalog-flush", daemon=True
                )
                self._flusher.start()
            elif was_empty or self._count >= FLUSH_COUNT:
                self._wake.notify()  # wake it only when there is something new to decide

    def _loop(self) -> None:
        me = threading.current_thread()
        while True:
            with self._lock:
                while not self._pending:
                    if self._flusher is not me:
                        return
                    self._wake.wait()
                # let a burst of saves gather into one transaction
                deadline = time.monotonic() + FLUSH_DELAY
                while self._count < FLUSH_COUNT:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
            try:
                self.flush()
            except Exception as exc:
                self._on_error(exc)

    def flush(self) -> None:
        """Commit the queued records of this process now."""
        with self._flush_lock:
            with self._lock:
                if self._pid != os.getpid():
                    return
                batch, self._pending, self._count = self._pending, [], 0
            if batch:
                self._commit(batch)

    def stop(self) -> None:
        """Flush, and let the flusher thread end."""
        self.flush()
        with self._lock:
            self._flusher = None
            self._wake.notify_all()
