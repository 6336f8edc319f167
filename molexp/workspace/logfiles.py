"""Open log files of a run: O(1) unbuffered appends, size and line count kept current.

Each append is one unbuffered ``write`` of whole lines, so a crash never loses a line that
was appended. The index row of the log (size, line count) is pushed through ``sync_to`` at
most once a second and when the log is closed; a worker's log has no ``sync_to`` (the
driver refreshes the row when it registers the worker's records).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from molexp.workspace.atomic import write_all
from molexp.workspace.errors import RunStateError
from molexp.workspace.records import AssetRecord
from molexp.workspace.storage import log_stats

__all__ = ["LOG_SYNC_SECONDS", "LogFile", "LogFiles", "RemoteLog", "open_log"]

LOG_SYNC_SECONDS = 1.0
monotonic = time.monotonic


def open_log(path: Path) -> int:
    """An append-only descriptor (never through a symlink) for unbuffered line writes."""
    return os.open(
        path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644
    )


class LogFile:
    """The shared open descriptor and counters of one log of a run in this process."""

    __slots__ = (
        "fd",
        "fsync",
        "last_sync",
        "lines",
        "lock",
        "path",
        "record",
        "run_id",
        "size",
        "sync_to",
        "synced",
    )

    def __init__(
        self,
        run_id: str,
        record: AssetRecord,
        path: Path,
        fd: int,
        *,
        fsync: bool,
        sync_to: Callable[[str, int, int], bool] | None,
        count: bool = True,
    ) -> None:
        self.run_id = run_id
        self.record = record
        self.path = path
        self.fd = fd
        self.fsync = fsync
        self.sync_to = sync_to
        self.lock = threading.Lock()
        size = os.fstat(fd).st_size
        lines = 0
        if size and count:
            with open(path, "rb") as fh:  # an earlier attempt or another process wrote it
                while chunk := fh.read(1 << 20):
                    lines += chunk.count(b"\n")
        self.size = size
        self.lines = lines
        self.last_sync = monotonic()
        self.synced = (size, lines)

    @property
    def name(self) -> str:
        return self.record["name"]

    def closed_error(self) -> RunStateError:
        return RunStateError(
            f"run {self.run_id}: log {self.name!r} is closed (the run context has ended)"
        )

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole lines) with one unbuffered write; O(1)."""
        with self.lock:
            fd = self.fd
            if fd < 0:
                raise self.closed_error()
            written = os.write(fd, data)
            if written != len(data):
                write_all(fd, memoryview(data)[written:])
            self.size += len(data)
            self.lines += data.count(b"\n")
            now = monotonic()
            if now - self.last_sync < LOG_SYNC_SECONDS:
                return
            self.last_sync = now
        self.sync()

    def _current(self) -> tuple[int, int]:
        size = os.fstat(self.fd).st_size if self.fd >= 0 else self.size
        if size != self.size:  # another process appends to the same log: count the file
            _, lines = log_stats(self.path.parent, self.path.name)
            return size, lines
        return self.size, self.lines

    def sync(self) -> None:
        """Push the current size and line count to the index (when there is one)."""
        if self.sync_to is None:
            return
        with self.lock:
            current = self._current()
        if current != self.synced:
            if self.sync_to(self.record["id"], current[0], current[1]):
                self.synced = current

    def close(self) -> None:
        if self.fd < 0:
            return
        self.sync()
        with self.lock:
            if self.fsync:
                os.fdatasync(self.fd)  # appends are unbuffered; make them durable at the end
            os.close(self.fd)
            self.fd = -1


class LogFiles:
    """The open logs of one run context, by name."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        """Held while a log is looked up or opened."""
        self.open: dict[str, LogFile] = {}

    def close(self) -> None:
        with self.lock:
            logs = list(self.open.values())
            self.open.clear()
        for log_file in logs:
            log_file.close()


class RemoteLog:
    """Size and line count of a log that workers append to, read incrementally."""

    __slots__ = ("id", "lines", "path", "size")

    def __init__(self, asset_id: str, path: Path) -> None:
        self.id = asset_id
        self.path = path
        self.size = 0
        self.lines = 0

    def refresh(self) -> bool:
        """Count what was appended since the last call; True when something changed."""
        try:
            with open(self.path, "rb") as fh:
                end = os.fstat(fh.fileno()).st_size
                if end == self.size:
                    return False
                if end < self.size:  # replaced or truncated: count again
                    self.size = self.lines = 0
                fh.seek(self.size)
                while chunk := fh.read(1 << 20):
                    self.size += len(chunk)
                    self.lines += chunk.count(b"\n")
        except FileNotFoundError:
            return False
        return True
