"""Is the process that owns a running run still alive?

The owner holds an exclusive ``flock`` on the run's ``.owner.lock`` for as long as the run
is running; the kernel drops it when the process dies, however it dies (SIGKILL, OOM,
wall-time limit). On the owner's host (same host name and boot id) a free lock therefore
proves the owner is gone, with no pid-reuse or pid-namespace pitfalls. From another host
the owner's heartbeat (the mtime of ``heartbeat``, touched every ``interval`` seconds by a
daemon thread) must be older than ``stale_after`` seconds.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from molexp.workspace.atomic import try_lock
from molexp.workspace.records import OwnerRecord

__all__ = ["Heartbeat", "HostIdentity", "owner_alive", "this_host"]


class HostIdentity:
    __slots__ = ("boot_id", "name")

    def __init__(self, name: str, boot_id: str | None) -> None:
        self.name = name
        self.boot_id = boot_id

    def owner_record(self) -> OwnerRecord:
        return {"host": self.name, "boot_id": self.boot_id, "pid": os.getpid()}


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


_HOST: HostIdentity | None = None


def this_host() -> HostIdentity:
    global _HOST
    if _HOST is None:
        _HOST = HostIdentity(socket.gethostname(), _boot_id())
    return _HOST


def owner_alive(
    owner: Mapping[str, Any] | None, owner_lock: Path, heartbeat: Path, *, stale_after: float
) -> bool:
    """Whether the run owner described by ``owner`` (host, boot id, pid) still runs."""
    host = this_host()
    owner = owner or {}
    if owner.get("host") == host.name:
        if owner.get("boot_id") and host.boot_id and owner["boot_id"] != host.boot_id:
            return False  # the host rebooted since the run started
        fd = try_lock(owner_lock)
        if fd is None:
            return True
        os.close(fd)
        return False
    try:
        age = time.time() - heartbeat.stat().st_mtime
    except FileNotFoundError:
        return False
    return age <= stale_after


class Heartbeat:
    """Touches ``path`` every ``interval`` seconds from a daemon thread until stopped."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        try:
            os.utime(self.path)
        except FileNotFoundError:
            self.path.touch()

    def start(self) -> None:
        self.beat()
        if self.interval > 0:
            self._thread = threading.Thread(
                target=self._loop, name=f"molexp-heartbeat:{self.path.parent.name}", daemon=True
            )
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except OSError:
                pass  # a transient filesystem error must not kill the run

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
