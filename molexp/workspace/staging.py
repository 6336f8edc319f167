"""Recording into a run from a worker process: files on the worker, records on the driver.

A distributed executor runs task bodies in other processes, often on other hosts. Those
processes must not write the run's manifest or the workspace catalog: SQLite over a
network filesystem is unsafe, and one writer keeps versions and checkpoint chains simple.
So a worker records in two halves:

- on the worker, ``ticket.open()`` (a ``RunTicket`` from the driver's ``rc.ticket()``)
  gives a *staging* ``RunContext``: artifact, checkpoint and log files are written into the
  run folder (the filesystem must be shared), while their records and the results set are
  kept in memory; ``rc.take_staged()`` hands them over as ``StagedRecords``;
- on the driver, ``rc.register(staged)`` appends the records to the run manifest, indexes
  them in the catalog and writes the results, under the same locks as local saves.

Versions (and a checkpoint's ``previous``) are assigned at registration; until then an
asset returned on the worker has ``version == 0``. Everything else (id, file, size, hash,
producer) is final when the worker writes it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from molexp.profile import ProfileConfig
from molexp.workspace.errors import RunNotFoundError
from molexp.workspace.layout import RUN_JSON, ScopeKey

if TYPE_CHECKING:
    from molexp.workspace.run_context import RunContext
    from molexp.workspace.workspace import Workspace

__all__ = ["RunTicket", "StagedRecords"]


@attrs.frozen
class StagedRecords:
    """What a staging run context recorded: asset records, results, logs appended to.

    Plain data (picklable); the driver registers it with ``RunContext.register``.
    """

    run_id: str
    records: tuple[Mapping[str, Any], ...] = ()
    """Artifact, checkpoint and log records in the order written (``version`` 0)."""
    results: Mapping[str, Any] = attrs.field(factory=dict)
    """``set_result`` values (already checked to be JSON), in the order set."""
    logs: tuple[str, ...] = ()
    """Names of the logs appended to (their catalog size and line count need a refresh)."""

    def __bool__(self) -> bool:
        return bool(self.records or self.results or self.logs)


@attrs.frozen
class RunTicket:
    """Where a run is and which attempt is recording: enough for a worker to stage into it.

    Made by ``RunContext.ticket()`` on the driver; picklable; ``open()`` on the worker.
    """

    root: str
    project: str
    experiment: str
    run_id: str
    attempt: int
    fsync: bool
    config: ProfileConfig

    def open(self) -> RunContext:
        """A staging run context for this run, in this process (see the module docs).

        Raises ``RunNotFoundError`` when the run folder is not visible here, which means the
        workspace is not on a filesystem shared with the driver.
        """
        from molexp.workspace.run_context import RunContext

        workspace = _workspace(self.root, self.fsync)
        key = ScopeKey("run", self.project, self.experiment, self.run_id)
        run = workspace._run_handle(key)
        if not (run.path / RUN_JSON).is_file():
            raise RunNotFoundError(
                f"run {self.run_id}: {run.path / RUN_JSON} is not visible on host "
                f"{socket.gethostname()!r} (pid {os.getpid()}); the workspace must be on a "
                "filesystem shared by the driver and the workers"
            )
        return RunContext(run, attempt=self.attempt, config=self.config, staging=True)


_WORKSPACES: dict[tuple[str, bool], Workspace] = {}
_WORKSPACES_LOCK = threading.Lock()


def _workspace(root: str, fsync: bool) -> Workspace:
    """One Workspace object per root in a worker process (its manifest indexes are reused)."""
    from molexp.workspace.workspace import Workspace

    with _WORKSPACES_LOCK:
        workspace = _WORKSPACES.get((root, fsync))
        if workspace is None:
            workspace = _WORKSPACES[(root, fsync)] = Workspace(root, fsync=fsync)
        return workspace
