"""Assets registered at the workspace, a project or an experiment (``ws.assets`` ...).

``add(name, source)`` stores a new version of ``name`` in the scope folder's ``assets/``
(``assets/<name>`` is the latest, ``assets/.versions/<name>/<n>`` every version) and
records a ``DataAsset`` in the scope's manifest. With ``copy=False`` a file or folder is
referenced in place (large training data stays where it is). Tasks find these assets
with ``ctx.find_asset(name)``, which searches run -> experiment -> project -> workspace.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from molexp.workspace.assets import Asset, DataAsset, asset_from_record, now_iso
from molexp.workspace.encoding import encode
from molexp.workspace.errors import AssetNameError
from molexp.workspace.layout import SCOPE_ASSETS, ScopeKey
from molexp.workspace.names import check_asset_name, check_tags, path_conflict
from molexp.workspace.records import AssetRecord
from molexp.workspace.storage import link_latest, suffix_for, version_path, write_version
from molexp.workspace.store import RootStore

__all__ = ["ScopeAssets"]


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


class ScopeAssets:
    """The data assets of one scope (workspace, project or experiment)."""

    def __init__(self, store: RootStore, key: ScopeKey) -> None:
        self._store = store
        self.key = key

    @property
    def folder(self) -> Path:
        return self.key.folder(self._store.root)

    def add(
        self, name: str, source: Any, *, tags: Iterable[str] = (), copy: bool = True
    ) -> DataAsset:
        """Register ``source`` as the next version of ``name`` at this scope.

        ``source``: a ``pathlib.Path`` (copied, or referenced in place with ``copy=False``;
        a folder can only be referenced), or data as for ``ctx.artifact.save``.
        """
        what = f"data asset {name!r} of the {self.key}"
        name = check_asset_name(name, what="data asset")
        tag_list = check_tags(tags, what)
        external: str | None = None
        encoded = None
        if isinstance(source, Path) and not copy:
            if not source.exists():
                raise FileNotFoundError(f"{what}: {str(source)!r} does not exist")
            external = str(source.resolve())
        else:
            encoded = encode(source, name=name, what=what)
        store = self._store
        store.ensure_scope(self.key)
        store.ready()
        manifest = store.manifest(self.key)
        folder = self.folder
        with manifest.writer() as writer:
            index = writer.index
            clash = path_conflict(
                name, index.names.get("data", set()), index.folders.get("data", set())
            )
            if clash is not None:
                raise AssetNameError(
                    f"{what}: the name clashes with the existing data asset {clash!r}"
                )
            version = index.next_version("data", name)
            record: AssetRecord = {
                "id": os.urandom(16).hex(),
                "kind": "data",
                "name": name,
                "version": version,
                "created_at": now_iso(),
                "producer": None,
            }
            if encoded is None:
                assert external is not None
                record["external"] = external
                record["size"] = _tree_size(Path(external))
                record["sha256"] = None
                record["media_type"] = (
                    "inode/directory" if Path(external).is_dir() else "application/octet-stream"
                )
                record["encoding"] = "bytes"
            else:
                rel = version_path(
                    SCOPE_ASSETS, len(index.records) + 1, name, suffix_for(encoded, name)
                )
                target, stored = write_version(
                    str(folder), rel, encoded, name=name, fsync=store.fsync, verified=store.verified
                )
                link_latest(
                    str(folder),
                    target,
                    f"{SCOPE_ASSETS}/{name}",
                    name=name,
                    fsync=store.fsync,
                    verified=store.verified,
                )
                record["path"] = rel
                record["size"] = stored.size
                record["sha256"] = stored.sha256
                record["media_type"] = encoded.media_type
                record["encoding"] = encoded.encoding
                if encoded.type_name is not None:
                    record["type"] = encoded.type_name
            if tag_list:
                record["tags"] = tag_list
            start = writer.end
            writer.append(record)
            try:
                store.index.add_records(
                    self.key,
                    manifest.path,
                    [record],
                    start=start,
                    end=writer.end,
                    inode=writer.inode,
                )
            except Exception as exc:
                store.index_failed(exc)
        return cast(DataAsset, asset_from_record(record, key=self.key, folder=folder))

    def get(self, name: str, *, version: int | None = None) -> DataAsset | None:
        """The newest (or the given) version of ``name`` at this scope, or None."""
        name = check_asset_name(name, what="data asset")
        index = self._store.manifest(self.key).index()
        if version is None:
            record = index.latest("data", name)
        else:
            record = next(
                (r for r in index.versions("data", name) if r["version"] == version), None
            )
        if record is None:
            return None
        return cast(DataAsset, asset_from_record(record, key=self.key, folder=self.folder))

    def versions(self, name: str) -> list[DataAsset]:
        name = check_asset_name(name, what="data asset")
        records = self._store.manifest(self.key).index().versions("data", name)
        return [
            cast(DataAsset, asset_from_record(r, key=self.key, folder=self.folder)) for r in records
        ]

    def list(self) -> list[DataAsset]:
        """The newest version of every data asset of this scope, by name."""
        index = self._store.manifest(self.key).index()
        out = []
        for name in sorted(index.names.get("data", set())):
            record = index.latest("data", name)
            assert record is not None
            out.append(cast(DataAsset, asset_from_record(record, key=self.key, folder=self.folder)))
        return out

    def find(self, name: str, kind: str | None = None) -> Asset | None:
        """The newest ``name`` here or, failing that, at the nearest enclosing scope."""
        return self._store.find_asset(self.key, name, kind)

    def __repr__(self) -> str:
        return f"ScopeAssets({self.key})"
