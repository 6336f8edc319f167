"""Registering what a worker staged: versions assigned, records appended, latest views linked.

Runs on the driver, under the run manifest's lock. A worker's record is as untrusted as a
file's: it passes ``record_problem`` first. Versions (and a checkpoint's ``previous``) are
assigned in the order the worker wrote them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, cast

from molexp.workspace.layout import ARTIFACTS
from molexp.workspace.manifest import ManifestWriter
from molexp.workspace.names import parent_folders, path_conflict
from molexp.workspace.records import AssetRecord, record_problem
from molexp.workspace.storage import link_latest

__all__ = ["Registration"]


class Registration:
    """What registering one batch of staged records found (filled by ``add``)."""

    def __init__(self, writer: ManifestWriter, folder: str) -> None:
        self.writer = writer
        self.folder = folder
        self.registered: list[AssetRecord] = []
        self.missing: list[str] = []
        """Files the worker wrote that are not in the run folder here."""
        self.clashes: list[str] = []
        """Records refused (malformed, or a name clash)."""
        self.latest_artifacts: dict[str, AssetRecord] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._last_id: dict[tuple[str, str], str] = {}
        self._new_names: dict[str, set[str]] = {}
        self._new_folders: dict[str, set[str]] = {}

    def add_all(self, records: Iterable[Mapping[str, Any]]) -> None:
        for staged in records:
            self.add(dict(staged))

    def add(self, raw: dict[str, Any]) -> None:
        problem = record_problem(raw, staged=True)
        if problem is not None:
            self.clashes.append(f"a record staged by a worker was refused: {problem}")
            return
        record = cast(AssetRecord, raw)
        index = self.writer.index
        kind, name = record["kind"], record["name"]
        key = (kind, name)
        if kind == "log":
            if index.latest("log", name) is None and key not in self._versions:
                record["version"] = self._versions[key] = 1
                self.registered.append(record)
            return
        if key not in self._versions:
            names = index.names.get(kind, set()) | self._new_names.get(kind, set())
            folders = index.folders.get(kind, set()) | self._new_folders.get(kind, set())
            clash = path_conflict(name, names, folders)
            if clash is not None:
                self.clashes.append(
                    f"{kind} {name!r} (written by a worker) clashes with the existing "
                    f"{kind} {clash!r}; it was not registered"
                )
                return
        if not os.path.isfile(f"{self.folder}/{record['path']}"):
            self.missing.append(f"{kind} {name!r}: {self.folder}/{record['path']}")
            return
        if key in self._versions:
            version = self._versions[key] + 1
        else:
            version = index.next_version(kind, name)
            self._new_names.setdefault(kind, set()).add(name)
            self._new_folders.setdefault(kind, set()).update(parent_folders(name))
        record["version"] = self._versions[key] = version
        if kind == "checkpoint":
            previous = index.latest(kind, name)
            record["previous"] = self._last_id.get(key) or (previous["id"] if previous else None)
        self._last_id[key] = record["id"]
        if kind == "artifact":
            self.latest_artifacts[name] = record
        self.registered.append(record)

    def link_latest(self, *, fsync: bool, verified: set[str]) -> None:
        """Point ``artifacts/<name>`` at the newest registered version of each artifact."""
        folder = self.folder
        for name, record in self.latest_artifacts.items():
            link_latest(
                folder,
                f"{folder}/{record['path']}",
                f"{ARTIFACTS}/{name}",
                name=name,
                fsync=fsync,
                verified=verified,
            )
