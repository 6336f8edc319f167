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
producer) is final when the worker writes it. The two halves are the recorders of
``molexp.workspace.staged_recorder`` and ``molexp.workspace.local_recorder``.
"""

from __future__ import annotations

from molexp.workspace.recording import StagedRecords
from molexp.workspace.workspace import RunTicket

__all__ = ["RunTicket", "StagedRecords"]
