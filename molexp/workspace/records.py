"""The typed records of the workspace, checked wherever they come from outside this process.

``AssetRecord`` is one manifest line, ``RunDocument`` the content of ``run.json``: the
shapes every module passes around (as TypedDicts: they are stored as plain JSON).

A manifest line, a record staged by a worker, a run folder copied in from another machine:
each is untrusted input. ``record_problem`` is the one check they all pass before any field
is used: a record whose path could leave its folder (absolute, ``..``, outside the area of
its kind), whose name is not a valid asset name, or whose fields have the wrong types is
reported and skipped, never followed.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any, NotRequired, Required, TypedDict, TypeGuard

from molexp.workspace.errors import AssetNameError
from molexp.workspace.layout import ARTIFACTS, CHECKPOINTS, LOGS, SCOPE_ASSETS
from molexp.workspace.names import check_asset_name, check_relative_path

__all__ = [
    "KIND_AREAS",
    "RUN_STATUSES",
    "AssetRecord",
    "AttemptRecord",
    "ErrorRecord",
    "OwnerRecord",
    "ProducerRecord",
    "ProfileRecord",
    "RunDocument",
    "record_problem",
    "run_document_problem",
]


class ProducerRecord(TypedDict):
    """Who wrote an asset (``Producer`` as stored)."""

    run_id: str
    project: str
    experiment: str
    task_id: str | None
    workflow: str | None
    attempt: int


class AssetRecord(TypedDict, total=False):
    """One line of a manifest: an artifact, checkpoint, log or data asset version."""

    id: Required[str]
    kind: Required[str]
    name: Required[str]
    version: Required[int]
    """0 while staged by a worker; 1, 2, ... once recorded."""
    created_at: Required[str]
    path: str
    """Relative to the scope folder, inside the area of its kind (absent when external)."""
    external: str
    """Absolute path of a data asset referenced in place."""
    size: int
    lines: int
    sha256: str | None
    media_type: str
    encoding: str
    type: str
    tags: list[str]
    producer: ProducerRecord | None
    previous: str | None
    inline: str
    inline_b64: str


class ProfileRecord(TypedDict):
    name: str | None
    config: dict[str, Any]
    hash: str


class OwnerRecord(TypedDict):
    host: str
    boot_id: str | None
    pid: int


class ErrorRecord(TypedDict):
    type: str
    message: str
    traceback: str | None
    task_id: str | None


class AttemptRecord(TypedDict, total=False):
    attempt: int
    status: str
    started_at: str | None
    finished_at: str | None
    host: str
    pid: int
    profile: str | None
    config_hash: str


class RunDocument(TypedDict):
    """The content of ``run.json``."""

    format: NotRequired[str]
    run_id: str
    project: NotRequired[str]
    experiment: NotRequired[str]
    status: str
    params: dict[str, Any]
    tags: NotRequired[list[str]]
    profile: NotRequired[ProfileRecord | None]
    created_at: NotRequired[str | None]
    started_at: NotRequired[str | None]
    finished_at: NotRequired[str | None]
    attempt: NotRequired[int]
    attempts: NotRequired[list[AttemptRecord]]
    owner: NotRequired[OwnerRecord | None]
    results: dict[str, Any]
    """Results of runs written before ``results.jsonl`` (newer runs keep it empty)."""
    error: NotRequired[ErrorRecord | None]


RUN_STATUSES = frozenset(("pending", "running", "succeeded", "failed", "cancelled", "interrupted"))

KIND_AREAS: dict[str, str] = {
    "artifact": ARTIFACTS,
    "checkpoint": CHECKPOINTS,
    "log": LOGS,
    "data": SCOPE_ASSETS,
}
"""The folder (inside its scope folder) where the files of each kind live."""

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPTIONAL_STR = ("sha256", "media_type", "encoding", "type", "previous", "inline", "inline_b64")
_PRODUCER_FIELDS = ("run_id", "project", "experiment", "task_id", "workflow")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        _dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def record_problem(record: object, *, staged: bool = False) -> str | None:
    """What is wrong with ``record`` (a parsed JSON value), or None when it can be used.

    ``staged``: a worker's record, whose version the driver assigns when it registers it.
    """
    if not isinstance(record, dict):
        return f"a record must be a JSON object, not {type(record).__name__}"
    kind = record.get("kind")
    if kind not in KIND_AREAS:
        return f"unknown kind {kind!r}"
    asset_id = record.get("id")
    if not isinstance(asset_id, str) or not _ID.fullmatch(asset_id):
        return f"invalid id {asset_id!r}"
    version = record.get("version")
    if not _is_int(version) or version < (0 if staged else 1):
        return f"version must be a positive integer, not {version!r}"
    if not _is_timestamp(record.get("created_at")):
        return f"created_at must be an ISO timestamp, not {record.get('created_at')!r}"
    try:
        check_asset_name(record.get("name"), what=str(kind))
        external = record.get("external")
        if external is not None:
            if kind != "data" or not isinstance(external, str) or not external.startswith("/"):
                return f"external must be an absolute path of a data asset, not {external!r}"
            if "\x00" in external:
                return "external path contains a NUL character"
        else:
            path = check_relative_path(record.get("path"), what="path")
            if path.split("/", 1)[0] != KIND_AREAS[kind]:
                return f"{kind} path {path!r} is outside its folder {KIND_AREAS[kind]!r}"
    except AssetNameError as exc:
        return str(exc)
    return _fields_problem(record)


def _fields_problem(record: Mapping[str, Any]) -> str | None:
    for key in ("size", "lines"):
        value = record.get(key, 0)
        if not _is_int(value) or value < 0:
            return f"{key} must be a non-negative integer, not {value!r}"
    for key in _OPTIONAL_STR:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            return f"{key} must be a string, not {type(value).__name__}"
    tags = record.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "tags must be a list of strings"
    producer = record.get("producer")
    if producer is not None:
        if not isinstance(producer, dict):
            return "producer must be an object"
        for key in _PRODUCER_FIELDS:
            value = producer.get(key)
            if value is not None and not isinstance(value, str):
                return f"producer.{key} must be a string, not {type(value).__name__}"
        attempt = producer.get("attempt")
        if attempt is not None and not _is_int(attempt):
            return "producer.attempt must be an integer"
    return None


_RUN_REQUIRED = ("run_id", "status", "params", "results")
_RUN_TIMES = ("created_at", "started_at", "finished_at")
_RUN_OBJECTS = ("profile", "owner", "error")


def run_document_problem(doc: object) -> str | None:
    """What is wrong with a parsed ``run.json``, or None when every field molexp reads from
    it has the type it expects (so no command later fails on it half-way)."""
    if not isinstance(doc, dict):
        return f"not a run record (a JSON {type(doc).__name__}, not an object)"
    missing = [k for k in _RUN_REQUIRED if k not in doc]
    if missing:
        return f"not a run record (missing {', '.join(missing)})"
    if not isinstance(doc["run_id"], str):
        return f"run_id must be a string, not {doc['run_id']!r}"
    if doc["status"] not in RUN_STATUSES:
        return f"unknown status {doc['status']!r}"
    for key in ("params", "results"):
        if not isinstance(doc[key], dict):
            return f"{key} must be an object, not {type(doc[key]).__name__}"
    for key in _RUN_TIMES:
        value = doc.get(key)
        if value is not None and not _is_timestamp(value):
            return f"{key} must be an ISO timestamp or null, not {value!r}"
    for key in _RUN_OBJECTS:
        value = doc.get(key)
        if value is not None and not isinstance(value, dict):
            return f"{key} must be an object or null, not {type(value).__name__}"
    tags = doc.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "tags must be a list of strings"
    attempt = doc.get("attempt", 0)
    if not _is_int(attempt) or attempt < 0:
        return f"attempt must be a non-negative integer, not {attempt!r}"
    attempts = doc.get("attempts", [])
    if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
        return "attempts must be a list of objects"
    profile = doc.get("profile") or {}
    for key in ("name", "hash"):
        if profile.get(key) is not None and not isinstance(profile[key], str):
            return f"profile.{key} must be a string or null"
    if not isinstance(profile.get("config", {}), dict):
        return "profile.config must be an object"
    return None
