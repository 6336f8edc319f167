"""How a run context records: one protocol, two strategies.

A ``RunContext`` hands every save, log, result and lookup to its ``Recorder``:

- ``LocalRecorder`` (``molexp.workspace.local_recorder``): the process that started or
  attached the run writes the file, appends the record to the run manifest and indexes it;
- ``StagedRecorder`` (``molexp.workspace.staged_recorder``): a worker process of a
  distributed executor writes the file into the shared run folder and keeps the record in
  memory; ``take_staged()`` hands them over as ``StagedRecords`` and the driver's local
  recorder ``register``\\ s them (versions are assigned then).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from molexp.workspace.assets import Asset, Producer, now_iso
from molexp.workspace.encoding import Encoded, to_json_value
from molexp.workspace.errors import AssetNameError
from molexp.workspace.logfiles import LogFile
from molexp.workspace.names import path_conflict
from molexp.workspace.records import AssetRecord
from molexp.workspace.storage import StoredFile

__all__ = [
    "Recorder",
    "StagedRecords",
    "check_clash",
    "new_log_record",
    "new_record",
    "plain_result",
]


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


class Recorder(Protocol):
    """Where a run context's records go (see the module docs)."""

    @property
    def staging(self) -> bool:
        """True for a worker's recorder: records wait for the driver."""
        ...

    def save(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        """Store a new version of artifact or checkpoint ``name`` (checked and encoded)."""
        ...

    async def asave(
        self, kind: str, name: str, encoded: Encoded, producer: Producer, tags: list[str], what: str
    ) -> Asset:
        """``save`` that waits for durability without blocking the event loop."""
        ...

    def latest(self, kind: str, name: str) -> AssetRecord | None: ...

    def versions(self, kind: str, name: str) -> list[AssetRecord]: ...

    def names(self, kind: str) -> set[str]: ...

    def find(self, name: str, kind: str | None) -> Asset | None:
        """The newest ``name`` at the nearest scope: run, experiment, project, workspace."""
        ...

    def set_result(self, key: str, value: Any) -> None:
        """Record a result (``value`` is already a plain JSON value)."""
        ...

    def get_result(self, key: str, default: Any) -> Any: ...

    def results(self) -> dict[str, Any]: ...

    def log_file(self, name: str, producer: Producer) -> LogFile:
        """The shared open log ``name`` of this run in this process."""
        ...

    def take_staged(self) -> StagedRecords: ...

    def register(self, staged: StagedRecords) -> list[Asset]: ...

    def close(self) -> None:
        """Flush and close; no record is taken afterwards."""
        ...


def check_clash(what: str, kind: str, name: str, names: set[str], folders: set[str]) -> None:
    """AssetNameError when ``name`` cannot be stored next to ``names`` (see ``path_conflict``)."""
    clash = path_conflict(name, names, folders)
    if clash is not None:
        raise AssetNameError(
            f"{what}: the name clashes with the existing {kind} {clash!r} "
            "(one cannot be a file and a folder at once)"
        )


def new_record(
    kind: str,
    name: str,
    version: int,
    rel: str,
    stored: StoredFile,
    encoded: Encoded,
    producer: Producer,
    tags: list[str],
    *,
    asset_id: str | None = None,
    created_at: str | None = None,
) -> AssetRecord:
    """The manifest record of a stored artifact or checkpoint version."""
    record: AssetRecord = {
        "id": asset_id or os.urandom(16).hex(),
        "kind": kind,
        "name": name,
        "version": version,
        "path": rel,
        "size": stored.size,
        "sha256": stored.sha256,
        "media_type": encoded.media_type,
        "encoding": encoded.encoding,
        "created_at": created_at or now_iso(),
        "producer": producer.to_dict(),
    }
    if encoded.type_name is not None:
        record["type"] = encoded.type_name
    if tags:
        record["tags"] = tags
    return record


def new_log_record(name: str, rel: str, producer: Producer, *, version: int) -> AssetRecord:
    return {
        "id": os.urandom(16).hex(),
        "kind": "log",
        "name": name,
        "version": version,
        "path": rel,
        "size": 0,
        "lines": 0,
        "sha256": None,
        "media_type": "text/plain",
        "encoding": "text",
        "created_at": now_iso(),
        "producer": producer.to_dict(),
    }


def plain_result(run_id: str, key: object, value: Any) -> Any:
    """``value`` as a plain JSON value for result ``key``; TypeError naming the key."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"run {run_id}: result keys are non-empty str, got {key!r}")
    return to_json_value(value, what=f"result {key!r} of run {run_id}")
