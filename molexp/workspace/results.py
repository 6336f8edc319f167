"""A run's result map as an append-only JSON-lines file (``results.jsonl``).

``set_result`` appends one line ``{"key": ..., "value": ...}`` and (by default) fdatasyncs
it, so a set costs O(its own size) however large the earlier results are, and is durable
when it returns. Readers fold the lines in order (a later set of a key wins) over the
``results`` of ``run.json`` (where runs written before this file existed keep theirs). A
torn last line left by a crash is ignored by readers and terminated by the next writer.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from molexp.workspace.atomic import dump_json_line, write_all

__all__ = ["ResultLog"]

log = logging.getLogger("molexp.workspace")

_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
_APPEND = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW


class ResultLog:
    """The results appended to one run's ``results.jsonl``."""

    __slots__ = ("_cache", "_lock", "fsync", "path")

    def __init__(self, path: Path, *, fsync: bool) -> None:
        self.path = path
        self.fsync = fsync
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], dict[str, Any]] | None = None

    def read(self) -> dict[str, Any]:
        """Every key set so far, with its latest value (a copy)."""
        with self._lock:
            return copy.deepcopy(self._read())

    def _read(self) -> dict[str, Any]:
        try:
            fd = os.open(self.path, _READ)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            log.warning("%s is a symbolic link; not followed, its results are skipped", self.path)
            return {}
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fd)
            signature = (st.st_ino, st.st_size)
            if self._cache is not None and self._cache[0] == signature:
                return self._cache[1]
            data = fh.read()
        results: dict[str, Any] = {}
        position = 0
        for line in data[: data.rfind(b"\n") + 1].split(b"\n"):
            at, position = position, position + len(line) + 1
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (UnicodeDecodeError, ValueError):
                entry = None
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                log.warning("%s: skipping an unreadable result line at byte %d", self.path, at)
                continue
            results[entry["key"]] = entry.get("value")
        self._cache = (signature, results)
        return results

    def append(self, values: Mapping[str, Any]) -> None:
        """Append ``values`` (already JSON values) in one write; durable with ``fsync``."""
        data = b"".join(dump_json_line({"key": k, "value": v}) for k, v in values.items())
        with self._lock:
            fd = os.open(self.path, _APPEND, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a crashed writer's torn line: end it, skip it
                write_all(fd, data)
                if self.fsync:
                    os.fdatasync(fd)
            finally:
                os.close(fd)
