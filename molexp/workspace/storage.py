"""Writing one immutable version of a file inside a scope folder.

A version is written straight to its final, never reused path (the caller holds the
manifest lock, so no other writer picks the same version), hashed while written, and
fsynced before its record is appended to the manifest: a record never points at a file
that is not fully on disk. ``link_latest`` then makes ``<area>/<name>`` a hard link to the
newest version (replaced atomically by rename), so a person browsing a run folder sees the
latest content under the plain name while every version stays readable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from molexp.workspace.atomic import ensure_dir, write_all
from molexp.workspace.encoding import Encoded
from molexp.workspace.errors import AssetNameError

__all__ = ["StoredFile", "check_inside", "link_latest", "write_version"]

_CHUNK = 1 << 20
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW


class StoredFile:
    __slots__ = ("sha256", "size")

    def __init__(self, size: int, sha256: str) -> None:
        self.size = size
        self.sha256 = sha256


def check_inside(folder: Path, target: Path, name: str) -> None:
    """Refuse ``target`` when its nearest existing parent resolves outside ``folder``."""
    real_folder = os.path.realpath(folder)
    parent = target.parent
    while not parent.exists() and parent != folder and parent.parent != parent:
        parent = parent.parent
    real_parent = os.path.realpath(parent)
    if real_parent != real_folder and not real_parent.startswith(real_folder + os.sep):
        raise AssetNameError(
            f"name {name!r} resolves outside {str(folder)!r} (through a symbolic link)"
        )


def write_version(
    folder: Path, rel: str, encoded: Encoded, *, name: str, fsync: bool
) -> StoredFile:
    """Write ``encoded`` to ``folder/rel`` (a fresh path), fsynced; return size and sha256."""
    target = folder / rel
    check_inside(folder, target, name)  # before creating any folder through a symbolic link
    ensure_dir(target.parent, fsync=fsync)
    check_inside(folder, target, name)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, _WRITE_FLAGS, 0o644)
    try:
        if encoded.payload is not None:
            digest.update(encoded.payload)
            write_all(fd, encoded.payload)
            size = len(encoded.payload)
        else:
            assert encoded.source is not None
            with open(encoded.source, "rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    write_all(fd, chunk)
                    size += len(chunk)
        if fsync:
            os.fdatasync(fd)
    finally:
        os.close(fd)
    return StoredFile(size, digest.hexdigest())


def link_latest(folder: Path, version_rel: str, latest_rel: str, *, name: str, fsync: bool) -> None:
    """Point ``folder/latest_rel`` at the version file (hard link, atomic replace).

    Falls back to a copy where hard links are not supported.
    """
    latest = folder / latest_rel
    check_inside(folder, latest, name)
    ensure_dir(latest.parent, fsync=fsync)
    check_inside(folder, latest, name)
    if latest.is_dir() and not latest.is_symlink():
        raise AssetNameError(f"name {name!r} is an existing folder in {str(folder)!r}")
    tmp = latest.with_name(f".{latest.name}.{secrets.token_hex(4)}.tmp")
    source = folder / version_rel
    try:
        try:
            os.link(source, tmp)
        except OSError:
            data = source.read_bytes()
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
        os.replace(tmp, latest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
