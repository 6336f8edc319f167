"""The catalog's tables, and the conversion of records to rows and rows to assets.

Pure functions over plain data: a manifest record and its scope key become an ``assets``
row, a ``run.json`` document a ``runs`` row, an ``assets`` row an ``Asset``.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from molexp.workspace.assets import (
    ASSET_CLASSES,
    KINDS,
    Asset,
    Producer,
)
from molexp.workspace.layout import ScopeKey
from molexp.workspace.records import AssetRecord, RunDocument
from molexp.workspace.storage import log_stats

__all__ = [
    "ASSET_COLUMNS",
    "ASSET_SELECT",
    "INSERT_ASSET",
    "SCHEMA",
    "SCHEMA_VERSION",
    "UPSERT_RUN",
    "AssetRows",
    "asset_filters",
    "asset_rows",
    "run_row",
    "timestamp",
]

log = logging.getLogger("molexp.workspace")

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    path TEXT PRIMARY KEY, inode INTEGER NOT NULL, offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assets(
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
    scope TEXT NOT NULL, project TEXT, experiment TEXT, run_id TEXT,
    path TEXT NOT NULL, external INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL, sha256 TEXT, media_type TEXT NOT NULL, encoding TEXT NOT NULL,
    type_name TEXT, created_at REAL NOT NULL,
    producer_run TEXT, producer_project TEXT, producer_experiment TEXT,
    producer_task TEXT, workflow TEXT, attempt INTEGER,
    lines INTEGER, previous TEXT, tags TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS assets_name ON assets(name, created_at);
CREATE INDEX IF NOT EXISTS assets_kind ON assets(kind, created_at);
CREATE INDEX IF NOT EXISTS assets_task ON assets(producer_task, created_at);
CREATE INDEX IF NOT EXISTS assets_run ON assets(run_id, created_at);
CREATE INDEX IF NOT EXISTS assets_scope ON assets(project, experiment, created_at);
CREATE INDEX IF NOT EXISTS assets_source ON assets(source);
CREATE TABLE IF NOT EXISTS asset_tags(
    tag TEXT NOT NULL, asset_id TEXT NOT NULL, PRIMARY KEY(tag, asset_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs(
    run_id TEXT PRIMARY KEY, project TEXT NOT NULL, experiment TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL, started_at REAL, finished_at REAL,
    profile TEXT, config_hash TEXT, attempt INTEGER NOT NULL DEFAULT 0,
    params TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
    path TEXT NOT NULL, signature TEXT);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, created_at);
CREATE INDEX IF NOT EXISTS runs_scope ON runs(project, experiment, created_at);
"""

ASSET_COLUMNS = (
    "id, kind, name, version, scope, project, experiment, run_id, path, external, size, "
    "sha256, media_type, encoding, type_name, created_at, producer_run, producer_project, "
    "producer_experiment, producer_task, workflow, attempt, lines, previous, tags"
)
INSERT_ASSET = (
    f"INSERT OR REPLACE INTO assets({ASSET_COLUMNS}, source) VALUES ({', '.join('?' * 26)})"
)
UPSERT_RUN = (
    "INSERT OR REPLACE INTO runs(run_id, project, experiment, status, created_at, started_at, "
    "finished_at, profile, config_hash, attempt, params, tags, path, signature) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UTC = _dt.UTC
_fromtimestamp = _dt.datetime.fromtimestamp


def timestamp(value: Any) -> float | None:
    if not value:
        return None
    return _dt.datetime.fromisoformat(str(value)).timestamp()


def run_row(key: ScopeKey, doc: RunDocument, signature: str | None) -> tuple[Any, ...]:
    """The ``runs`` row of the run at ``key`` from its ``run.json`` document."""
    profile: Mapping[str, Any] = doc.get("profile") or {}
    return (
        key.run_id,
        key.project,
        key.experiment,
        str(doc.get("status", "pending")),
        timestamp(doc.get("created_at")),
        timestamp(doc.get("started_at")),
        timestamp(doc.get("finished_at")),
        profile.get("name"),
        profile.get("hash"),
        int(doc.get("attempt", 0)),
        json.dumps(doc.get("params", {}), sort_keys=True),
        json.dumps(doc.get("tags", [])),
        key.relpath(),
        signature,
    )


def asset_rows(
    root: str, key: ScopeKey, source: str, records: Iterable[AssetRecord], *, from_files: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """``assets`` rows and ``asset_tags`` rows of ``records`` of the manifest ``source``
    (a malformed record is logged and skipped). ``from_files``: logs are measured on disk."""
    folder_rel = key.relpath()
    rows = []
    tags: list[tuple[str, str]] = []
    for r in records:
        try:
            kind = str(r["kind"])
            if kind not in ASSET_CLASSES:
                raise ValueError(f"unknown kind {kind!r}")
            external = r.get("external")
            if external:
                path = str(external)
            else:
                path = f"{folder_rel}/{r['path']}" if folder_rel else str(r["path"])
            producer: Mapping[str, Any] = r.get("producer") or {}
            lines = r.get("lines")
            size = int(r.get("size", 0))
            if kind == "log" and from_files:
                size, lines = log_stats(root, path)
            record_tags = [str(t) for t in r.get("tags", ())]
            rows.append(
                (
                    str(r["id"]),
                    kind,
                    str(r["name"]),
                    int(r["version"]),
                    key.scope,
                    key.project,
                    key.experiment,
                    key.run_id,
                    path,
                    1 if external else 0,
                    size,
                    r.get("sha256"),
                    str(r.get("media_type", "application/octet-stream")),
                    str(r.get("encoding", "bytes")),
                    r.get("type"),
                    timestamp(r["created_at"]),
                    producer.get("run_id"),
                    producer.get("project"),
                    producer.get("experiment"),
                    producer.get("task_id"),
                    producer.get("workflow"),
                    producer.get("attempt"),
                    lines,
                    r.get("previous"),
                    json.dumps(record_tags),
                    source,
                )
            )
            tags.extend((t, str(r["id"])) for t in record_tags)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: skipping malformed record %r (%s)", source, r.get("id"), exc)
    return rows, tags


def asset_filters(
    kind: str | None,
    name: str | None,
    producer_task: str | None,
    run_id: str | None,
    experiment: str | None,
    project: str | None,
    tag: str | None,
    scope: str | None,
    workflow: str | None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (with its arguments) of an asset query; ValueError on a bad
    kind or scope."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
    if scope is not None and scope not in ("run", "experiment", "project", "workspace"):
        raise ValueError(f"unknown scope {scope!r}; expected run, experiment, project or workspace")
    clauses: list[str] = []
    args: list[Any] = []
    if producer_task is not None:
        # A task's own records, and those of its map elements (``relax[3]``) and inner
        # tasks (``relax.minimize``): two index-friendly key ranges ('[' < '\\', '.' < '/').
        clauses.append(
            "(producer_task=? OR (producer_task>=? AND producer_task<?)"
            " OR (producer_task>=? AND producer_task<?))"
        )
        args += [producer_task, producer_task + "[", producer_task + "\\"]
        args += [producer_task + ".", producer_task + "/"]
    for column, value in (
        ("kind", kind),
        ("name", name),
        ("run_id", run_id),
        ("experiment", experiment),
        ("project", project),
        ("scope", scope),
        ("workflow", workflow),
    ):
        if value is not None:
            clauses.append(f"{column}=?")
            args.append(value)
    if tag is not None:
        clauses.append("id IN (SELECT asset_id FROM asset_tags WHERE tag=?)")
        args.append(tag)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


ASSET_SELECT = (
    "id, kind, name, version, project, experiment, run_id, path, external, size, sha256, "
    "media_type, encoding, type_name, created_at, lines, previous, tags, "
    "producer_run, producer_project, producer_experiment, producer_task, workflow, attempt"
)
"""The columns ``AssetRows.assets`` reads (an asset query's ``SELECT`` list; the scope is
implied by which of project, experiment, run id are set)."""


class _Builder:
    """Makes instances of one asset class from values in attrs field order.

    The rows come from the index, which only ever holds checked records, and the asset
    classes have no validators or converters: the values are stored into the instance's
    slots directly, which is what the generated ``__init__`` does through one method call
    per field (a third of the cost of a 500-row query). A class that gains a validator,
    a converter or a non-slot field is built through its ``__init__`` instead.
    """

    __slots__ = ("cls", "names", "setters")

    def __init__(self, cls: type[Asset]) -> None:
        fields = attrs.fields(cls)
        self.cls = cls
        self.names = tuple(f.alias for f in fields)
        descriptors = [getattr(cls, f.name, None) for f in fields]
        direct = all(f.validator is None and f.converter is None for f in fields) and all(
            type(d).__name__ == "member_descriptor" for d in descriptors
        )
        self.setters = tuple(d.__set__ for d in descriptors) if direct else ()  # type: ignore[union-attr]

    def build(self, values: tuple[Any, ...]) -> Asset:
        if not self.setters:
            return self.cls(**dict(zip(self.names, values, strict=True)))
        asset = object.__new__(self.cls)
        for setter, value in zip(self.setters, values, strict=True):
            setter(asset, value)
        return asset


class AssetRows:
    """Turns ``assets`` rows (selected with ``ASSET_SELECT``) into assets of the workspace
    at ``root``. Producers are immutable values: each distinct one is built once (a bounded
    cache, kept across queries)."""

    __slots__ = ("_builders", "_producers", "_root")

    MAX_PRODUCERS = 10_000

    def __init__(self, root: str) -> None:
        self._root = root
        self._producers: dict[tuple[Any, ...], Producer] = {}
        self._builders = {kind: _Builder(cls) for kind, cls in ASSET_CLASSES.items()}

    def _producer(self, key: tuple[Any, ...]) -> Producer:
        """The producer of ``key``: (run, project, experiment, task, workflow, attempt)."""
        if len(self._producers) >= self.MAX_PRODUCERS:
            self._producers.clear()
        run_id, project, experiment, task_id, workflow, attempt = key
        producer = self._producers[key] = Producer(
            run_id=run_id,
            project=project,
            experiment=experiment,
            task_id=task_id,
            workflow=workflow,
            attempt=attempt if attempt is not None else 1,
        )
        return producer

    def assets(self, rows: Sequence[Sequence[Any]]) -> list[Asset]:
        producers = self._producers
        builders = self._builders
        root = self._root
        out: list[Asset] = []
        append = out.append
        for row in rows:
            (
                asset_id,
                kind,
                name,
                version,
                project,
                experiment,
                run_id,
                path,
                external,
                size,
                sha256,
                media_type,
                encoding,
                type_name,
                created_at,
                lines,
                previous,
                tags,
                p_run,
                p_project,
                p_experiment,
                p_task,
                workflow,
                attempt,
            ) = row
            producer = None
            if p_run is not None:
                pkey = (p_run, p_project, p_experiment, p_task, workflow, attempt)
                producer = producers.get(pkey) or self._producer(pkey)
            scope = (
                "run"
                if run_id is not None
                else "experiment"
                if experiment is not None
                else "project"
                if project is not None
                else "workspace"
            )
            values = (
                asset_id,
                name,
                version,
                scope,
                project,
                experiment,
                run_id,
                path if external else f"{root}/{path}",
                size,
                sha256,
                media_type,
                encoding,
                _fromtimestamp(created_at, _UTC),
                producer,
                () if tags == "[]" else tuple(json.loads(tags)),
                type_name,
                None if external else root,
            )
            if kind == "artifact":
                append(builders[kind].build(values))
            elif kind == "log":
                append(builders[kind].build((*values, lines or 0)))
            elif kind == "checkpoint":
                append(builders[kind].build((*values, previous)))
            else:
                append(builders[kind].build((*values, bool(external))))
        return out
