"""The unified asset model: every file a run or a scope records is an ``Asset``.

Kinds: ``ArtifactAsset`` (``ctx.artifact.save``), ``LogAsset`` (``ctx.log``),
``CheckpointAsset`` (``ctx.checkpoint``) and ``DataAsset`` (registered at a scope with
``assets.add``). Each carries a ``Producer`` naming the run and the task that wrote it.
Records are stored as JSON lines in the scope's manifest; the objects here are their
read-only view, with the absolute ``path`` of the file.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar, overload

import attrs

from molexp.workspace.encoding import decode
from molexp.workspace.layout import ScopeKey, ScopeKind
from molexp.workspace.records import ProducerRecord
from molexp.workspace.storage import open_confined, read_confined

__all__ = [
    "ArtifactAsset",
    "Asset",
    "CheckpointAsset",
    "DataAsset",
    "LogAsset",
    "Producer",
    "asset_from_record",
]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Producer:
    """Who wrote an asset: the run (and where it lives), the task, the workflow, the attempt."""

    run_id: str
    project: str
    experiment: str
    task_id: str | None = None
    workflow: str | None = None
    attempt: int = 1

    def to_dict(self) -> ProducerRecord:
        return {
            "run_id": self.run_id,
            "project": self.project,
            "experiment": self.experiment,
            "task_id": self.task_id,
            "workflow": self.workflow,
            "attempt": self.attempt,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Producer:
        return cls(
            run_id=str(data["run_id"]),
            project=str(data["project"]),
            experiment=str(data["experiment"]),
            task_id=data.get("task_id"),
            workflow=data.get("workflow"),
            attempt=int(data.get("attempt", 1)),
        )


@attrs.frozen(kw_only=True)
class Asset:
    """A recorded file: name, version, where it is, what it holds, and who produced it."""

    KIND: ClassVar[str] = "asset"

    id: str
    name: str
    version: int
    """1, 2, ... per name and kind within its scope (a checkpoint's place in its chain)."""
    scope: ScopeKind
    project: str | None
    experiment: str | None
    run_id: str | None
    location: str
    """Absolute path of this version's file (immutable once recorded); see ``path``."""
    size: int
    sha256: str | None
    media_type: str
    encoding: str
    """How to read it back: ``bytes``, ``text`` or ``json``."""
    created_at: _dt.datetime
    producer: Producer | None
    tags: tuple[str, ...] = ()
    type_name: str | None = None
    """Qualified name of the attrs/dataclass type a JSON asset was saved from."""
    _confined_to: str | None = attrs.field(default=None, alias="confined_to", repr=False, eq=False)
    """The folder the file must stay in (its scope's, or the workspace's); reads never follow
    a symbolic link or a ``..`` out of it. None for a file referenced in place (external)."""

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def path(self) -> Path:
        """Absolute path of this version's file (immutable once recorded)."""
        return Path(self.location)

    @property
    def scope_key(self) -> ScopeKey:
        return ScopeKey(self.scope, self.project, self.experiment, self.run_id)

    def read_bytes(self) -> bytes:
        folder = self._confined_to
        if folder is None:
            return self.path.read_bytes()
        return read_confined(folder, self.location[len(folder) + 1 :])

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")

    @overload
    def load(self, as_type: None = None) -> Any: ...
    @overload
    def load(self, as_type: type[T]) -> T: ...
    @overload
    def load(self, as_type: type[T] | None) -> T | Any: ...
    def load(self, as_type: type[T] | None = None) -> T | Any:
        """The stored value, read back through ``molexp.codecs``.

        Without ``as_type``: bytes, str, JSON, or the value a codec stored (a numpy array,
        ASE ``Atoms``, a list of them; a bundle as JSON with its arrays in place). With
        ``as_type=T``: a ``T`` (cattrs structures JSON and bundles, codec types included;
        a copied file is read by ``T``'s codec: ``as_type=Atoms`` on a ``.traj``).
        """
        folder = self._confined_to
        if folder is None:
            fd = os.open(self.location, os.O_RDONLY | os.O_CLOEXEC)
        else:
            fd = open_confined(folder, self.location[len(folder) + 1 :])
        with os.fdopen(fd, "rb") as stream:
            return decode(
                stream,
                self.encoding,
                as_type=as_type,
                what=f"{self.KIND} {self.name!r}",
                suffix=Path(self.location).suffix,
            )


@attrs.frozen(kw_only=True)
class ArtifactAsset(Asset):
    KIND: ClassVar[str] = "artifact"


@attrs.frozen(kw_only=True)
class LogAsset(Asset):
    """A log file; ``size`` and ``line_count`` are as of the last sync (see ``LogHandle``)."""

    KIND: ClassVar[str] = "log"
    line_count: int = 0


@attrs.frozen(kw_only=True)
class CheckpointAsset(Asset):
    """A checkpoint; ``previous`` is the id of the one before it of the same name and run."""

    KIND: ClassVar[str] = "checkpoint"
    previous: str | None = None


@attrs.frozen(kw_only=True)
class DataAsset(Asset):
    """A file registered at a scope; ``external`` when referenced in place, not copied."""

    KIND: ClassVar[str] = "data"
    external: bool = False


ASSET_CLASSES: dict[str, type[Asset]] = {
    cls.KIND: cls for cls in (ArtifactAsset, LogAsset, CheckpointAsset, DataAsset)
}
KINDS = tuple(ASSET_CLASSES)


def parse_time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat()


def asset_from_record(record: Mapping[str, Any], *, key: ScopeKey, folder: Path) -> Asset:
    """Build the asset of a manifest ``record`` stored in the scope ``key`` at ``folder``.

    Raises KeyError/ValueError/TypeError on a malformed record.
    """
    cls = ASSET_CLASSES[record["kind"]]
    extra: dict[str, Any] = {}
    external = record.get("external")
    location = str(external) if external else f"{folder}/{record['path']}"
    extra["confined_to"] = None if external else str(folder)
    producer = record.get("producer")
    if cls is LogAsset:
        extra["line_count"] = int(record.get("lines", 0))
    elif cls is CheckpointAsset:
        extra["previous"] = record.get("previous")
    elif cls is DataAsset:
        extra["external"] = bool(external)
    return cls(
        id=str(record["id"]),
        name=str(record["name"]),
        version=int(record["version"]),
        scope=key.scope,
        project=key.project,
        experiment=key.experiment,
        run_id=key.run_id,
        location=location,
        size=int(record.get("size", 0)),
        sha256=record.get("sha256"),
        media_type=str(record.get("media_type", "application/octet-stream")),
        encoding=str(record.get("encoding", "bytes")),
        created_at=parse_time(str(record["created_at"])),
        producer=Producer.from_dict(producer) if producer else None,
        tags=tuple(str(t) for t in record.get("tags", ())),
        type_name=record.get("type"),
        **extra,
    )
