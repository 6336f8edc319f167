"""A run's ``run.json``: its statuses, its error, the new document, reading and writing it.

``run.json`` holds a run's identity, params, profile (name, resolved config, content hash),
timestamps, status, attempts and error (results live in ``results.jsonl``). It is only ever
replaced atomically, under the run's inter-process lock, and re-read before each change, so
concurrent writers (the owner and attached workers) never lose each other's changes. Every
read is validated (``records.run_document_problem``): a damaged file is a
``CorruptRunError`` naming it, never a half-read document.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import os
import traceback as _traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import attrs

from molexp.profile import ProfileConfig
from molexp.workspace.assets import now_iso
from molexp.workspace.atomic import FileLock, atomic_write_json
from molexp.workspace.errors import AssetNameError, CorruptRunError, RunNotFoundError
from molexp.workspace.layout import RUN_JSON, ScopeKey
from molexp.workspace.records import ErrorRecord, ProfileRecord, RunDocument, run_document_problem
from molexp.workspace.storage import read_confined

__all__ = [
    "RUN_FORMAT",
    "RunError",
    "RunFile",
    "RunStatus",
    "new_run_document",
    "parse_time",
    "profile_record",
]

RUN_FORMAT = "molexp.run/1"


class RunStatus(str, enum.Enum):
    """Where a run is in its lifecycle (compares equal to its string value)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return self.value

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


@attrs.frozen
class RunError:
    """Why a run failed or was cancelled: exception type, message, traceback, and the task
    that raised it when known (an exception with a ``task_id`` attribute, such as the
    runtime's ``WorkflowFailed``, or ``rc.fail(..., task_id=...)``)."""

    type: str
    message: str
    traceback: str | None = None
    task_id: str | None = None

    @classmethod
    def from_exception(
        cls, exc: BaseException, tb: str | None = None, *, task_id: str | None = None
    ) -> RunError:
        kind = type(exc)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else (f"{kind.__module__}.{kind.__qualname__}")
        )
        text = tb if tb is not None else "".join(_traceback.format_exception(exc))
        if task_id is None and isinstance(getattr(exc, "task_id", None), str):
            task_id = exc.task_id  # type: ignore[attr-defined]
        return cls(type=name, message=str(exc), traceback=text, task_id=task_id)

    @classmethod
    def from_record(cls, error: Mapping[str, Any]) -> RunError:
        return cls(
            type=str(error.get("type")),
            message=str(error.get("message")),
            traceback=error.get("traceback"),
            task_id=error.get("task_id"),
        )

    def to_dict(self) -> ErrorRecord:
        return {
            "type": self.type,
            "message": self.message,
            "traceback": self.traceback,
            "task_id": self.task_id,
        }


def profile_record(profile: ProfileConfig) -> ProfileRecord:
    return {"name": profile.name, "config": profile.to_json(), "hash": profile.content_hash}


def parse_time(value: str | None) -> _dt.datetime | None:
    return None if not value else _dt.datetime.fromisoformat(value)


def new_run_document(
    run_id: str, project: str, experiment: str, params: Mapping[str, Any], tags: list[str]
) -> RunDocument:
    return {
        "format": RUN_FORMAT,
        "run_id": run_id,
        "project": project,
        "experiment": experiment,
        "status": RunStatus.PENDING.value,
        "params": dict(params),
        "tags": tags,
        "profile": None,
        "created_at": now_iso(),
        "started_at": None,
        "finished_at": None,
        "attempt": 0,
        "attempts": [],
        "owner": None,
        "results": {},
        "error": None,
    }


class RunFile:
    """The ``run.json`` of one run folder: validated reads (cached while the file's stat
    signature is unchanged) and atomic writes. Writers hold ``lock`` around read-modify-write.
    """

    __slots__ = ("_cache", "fsync", "key", "lock", "path", "root")

    def __init__(self, root: Path, key: ScopeKey, lock: FileLock, *, fsync: bool) -> None:
        self.root = root
        self.key = key
        self.path = key.folder(root) / RUN_JSON
        self.lock = lock
        self.fsync = fsync
        self._cache: tuple[str, RunDocument] | None = None

    @property
    def run_id(self) -> str:
        return str(self.key.run_id)

    def signature(self) -> str | None:
        """Inode, size and mtime of the file (None when it does not exist)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> RunDocument:
        """The current document (shared, do not modify: copy it first)."""
        signature = self.signature()
        if signature is None:
            raise RunNotFoundError(
                f"run {self.run_id!r} not found: {self.path} does not exist "
                f"(experiment {self.key.project}/{self.key.experiment} of {self.root})"
            )
        if self._cache is not None and self._cache[0] == signature:
            return self._cache[1]
        try:
            doc = json.loads(read_confined(self.path.parent, RUN_JSON))
        except FileNotFoundError:
            raise RunNotFoundError(f"run {self.run_id!r} not found: {self.path} vanished") from None
        except AssetNameError as exc:
            raise CorruptRunError(f"run {self.run_id}: {exc}") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptRunError(
                f"run {self.run_id}: {self.path} is not valid JSON ({exc}); nothing was changed. "
                "Restore the file, or move the run folder out of the workspace"
            ) from exc
        problem = run_document_problem(doc)
        if problem is not None:
            raise CorruptRunError(f"run {self.run_id}: {self.path}: {problem}; nothing was changed")
        document = cast(RunDocument, doc)
        self._cache = (signature, document)
        return document

    def write(self, doc: RunDocument) -> str | None:
        """Replace the file atomically (the caller holds ``lock``); its new signature."""
        atomic_write_json(self.path, doc, fsync=self.fsync)
        signature = self.signature()
        if signature is not None:
            self._cache = (signature, doc)
        return signature
