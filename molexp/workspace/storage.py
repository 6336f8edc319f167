"""Writing one immutable version of a file inside a scope folder.

A version is written straight to its final, never reused path (the caller holds the
manifest lock, so no other writer picks the same version), hashed while written, and
fsynced before its record is appended to the manifest: a record never points at a file
that is not fully on disk. ``link_latest`` then makes ``<area>/<name>`` a hard link to the
newest version (replaced atomically by rename), so a person browsing a run folder sees the
latest content under the plain name while every version stays readable.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, cast

from molexp.workspace.atomic import fsync_dir, write_all
from molexp.workspace.encoding import Encoded
from molexp.workspace.errors import AssetNameError
from molexp.workspace.layout import VERSIONS
from molexp.workspace.names import check_relative_path
from molexp.workspace.records import AssetRecord

__all__ = [
    "StoredFile",
    "check_inside",
    "current_record",
    "link_latest",
    "log_stats",
    "open_confined",
    "prepare_parent",
    "read_confined",
    "suffix_for",
    "version_path",
    "write_version",
]

_CHUNK = 1 << 20
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW


class StoredFile:
    __slots__ = ("sha256", "size")

    def __init__(self, size: int, sha256: str) -> None:
        self.size = size
        self.sha256 = sha256


def check_inside(folder: Path, target: Path, name: str, verified: set[str]) -> None:
    """Refuse ``target`` when a folder between ``folder`` and it is a symbolic link or a file."""
    prepare_parent(
        str(folder),
        str(target.relative_to(folder)),
        name,
        fsync=False,
        verified=verified,
        create=False,
    )


def prepare_parent(
    folder: str, rel: str, name: str, *, fsync: bool, verified: set[str], create: bool = True
) -> str:
    """``folder/rel``, after making its parent folders real folders inside ``folder``.

    Every folder between ``folder`` and the target must be a real folder: a symbolic link
    (or a file) on the way is an AssetNameError, checked before anything is created through
    it. Folders are created as needed (their entries fsynced with ``fsync``). Checked
    folders are remembered in ``verified``, so repeated writes cost no system call.
    """
    target = f"{folder}/{rel}"
    parent_rel = rel.rpartition("/")[0]
    if not parent_rel or f"{folder}/{parent_rel}" in verified:
        return target
    current = folder
    for part in parent_rel.split("/"):
        above, current = current, f"{current}/{part}"
        if current in verified:
            continue
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            if not create:
                return target
            try:
                os.mkdir(current)  # never follows a link: a racing link is FileExistsError
                if fsync:
                    fsync_dir(Path(above))
                mode = stat.S_IFDIR
            except FileExistsError:
                mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise AssetNameError(
                f"name {name!r}: {current!r} is a symbolic link; writing through it could "
                f"leave {folder!r}"
            )
        if not stat.S_ISDIR(mode):
            raise AssetNameError(f"name {name!r}: {current!r} is a file, not a folder")
        verified.add(current)
    return target


def suffix_for(encoded: Encoded, name: str) -> str:
    """The file suffix of a stored version: the stored form's own (``.json``, ``.npy``,
    ``.npz``) when it has one, else the name's."""
    if encoded.suffix is not None:
        return encoded.suffix
    if encoded.encoding == "text":
        return Path(name).suffix or ".txt"
    if encoded.source is not None:
        return Path(name).suffix or encoded.source.suffix
    return Path(name).suffix


def version_path(area: str, sequence: int | str, name: str, suffix: str) -> str:
    """``<area>/.versions/000042-<basename>``: one flat folder of immutable versions.

    ``sequence`` is unique within the scope (the manifest's record count, taken under its
    lock), so no per-name folder is needed: creating folders is the slowest part of a small
    durable write on common filesystems. A worker that writes without the lock (see
    ``RunContext.take_staged``) passes a random token instead.
    """
    base = name.rsplit("/", 1)[-1]
    if suffix and not base.endswith(suffix):
        base += suffix
    prefix = f"{sequence:06d}" if isinstance(sequence, int) else sequence
    return f"{area}/{VERSIONS}/{prefix}-{base}"


class _HashingWriter(io.RawIOBase):
    """A write-only, unseekable stream onto ``fd`` that hashes what goes through it.

    Large buffers are hashed on a helper thread while the previous slice is written
    (``hashlib`` and ``os.write`` release the GIL), so hashing adds little to the time of
    a large write, and nothing is copied: slices are views of the caller's buffer.
    """

    _SLICE = 4 << 20

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd
        self.digest = hashlib.sha256()
        self.size = 0
        self._pool: ThreadPoolExecutor | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if n < 2 * self._SLICE:
            self.digest.update(view)
            write_all(self.fd, view)
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="molexp-sha256")
            for start in range(0, n, self._SLICE):
                part = view[start : start + self._SLICE]
                hashing = self._pool.submit(self.digest.update, part)
                write_all(self.fd, part)
                hashing.result()
        self.size += n
        return n

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def write_version(
    folder: str, rel: str, encoded: Encoded, *, name: str, fsync: bool, verified: set[str]
) -> tuple[str, StoredFile]:
    """Write ``encoded`` to ``folder/rel`` (a fresh path), fsynced: (its path, size/sha256).

    The bytes go to a hidden ``.<file>.partial`` first and are renamed into place once
    complete, so a writer killed mid-write never leaves a truncated file under a real name.
    """
    target = prepare_parent(folder, rel, name, fsync=fsync, verified=verified)
    head, _, base = target.rpartition("/")
    partial = f"{head}/.{base}.partial"
    size = 0
    # Read-only: the latest view under the plain name is a hard link to this inode, so a
    # writable mode would let an edit of "the latest file" rewrite recorded history.
    fd = os.open(partial, _WRITE_FLAGS, 0o444)
    try:
        try:
            if encoded.payload is not None:
                digest = hashlib.sha256(encoded.payload)
                write_all(fd, encoded.payload)
                size = len(encoded.payload)
            elif encoded.write is not None:  # a codec writes the file (straight from memory)
                stream = _HashingWriter(fd)
                try:
                    encoded.write(cast(IO[bytes], stream))
                finally:
                    stream.shutdown()
                digest, size = stream.digest, stream.size
            else:
                assert encoded.source is not None
                digest = hashlib.sha256()
                with open(encoded.source, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        write_all(fd, chunk)
                        size += len(chunk)
            if fsync:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
    except BaseException:
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        raise
    return target, StoredFile(size, digest.hexdigest())


def link_latest(
    folder: str, version: str, latest_rel: str, *, name: str, fsync: bool, verified: set[str]
) -> None:
    """Make ``folder/latest_rel`` the file ``version`` (hard link, atomic replace).

    Falls back to a copy where hard links are not supported.
    """
    latest = prepare_parent(folder, latest_rel, name, fsync=fsync, verified=verified)
    try:
        os.link(version, latest)  # the first version of a name: no rename needed
        return
    except FileExistsError:
        pass
    except OSError:
        pass  # no hard links here: fall through to the copy
    head, _, base = latest.rpartition("/")
    tmp = f"{head}/.{base}.{secrets.token_hex(4)}.tmp"
    try:
        try:
            os.link(version, tmp)
        except OSError:
            with open(version, "rb") as src:
                data = src.read()
            fd = os.open(tmp, _WRITE_FLAGS, 0o644)
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
        try:
            os.replace(tmp, latest)
        except IsADirectoryError:
            raise AssetNameError(f"name {name!r}: {latest!r} is an existing folder") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def open_confined(folder: str | Path, rel: str) -> int:
    """A read-only descriptor of ``folder/rel``, which must stay inside ``folder``.

    ``rel`` (read from a manifest, a catalog row or a worker) passes the asset-name path
    rule, every folder between ``folder`` and the file must be a real folder, and the file
    itself is opened without following a symbolic link: a run folder copied in from
    elsewhere cannot make molexp read (or, through a repair, write) outside it.
    AssetNameError when it would leave; FileNotFoundError when it is missing.
    """
    check_relative_path(rel, what="stored path")
    prepare_parent(str(folder), rel, rel, fsync=False, verified=set(), create=False)
    try:
        return os.open(f"{folder}/{rel}", os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AssetNameError(
                f"{str(folder)!r}: {rel!r} is a symbolic link; it is not followed"
            ) from None
        raise


def read_confined(folder: str | Path, rel: str) -> bytes:
    """The bytes of ``folder/rel`` under the rules of ``open_confined``."""
    with os.fdopen(open_confined(folder, rel), "rb") as fh:
        return fh.read()


def log_stats(folder: str | Path, rel: str) -> tuple[int, int]:
    """(size, line count) of the log ``folder/rel``, read in 1 MiB chunks; (0, 0) if it is
    missing or not a file inside ``folder``."""
    size = lines = 0
    try:
        with os.fdopen(open_confined(folder, rel), "rb") as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
    except (FileNotFoundError, NotADirectoryError, AssetNameError):
        return 0, 0
    return size, lines


def current_record(record: AssetRecord, folder: Path) -> AssetRecord:
    """A log's manifest record holds its size at creation; the file holds the truth."""
    if record["kind"] != "log":
        return record
    size, lines = log_stats(folder, record["path"])
    current = record.copy()
    current["size"] = size
    current["lines"] = lines
    return current
