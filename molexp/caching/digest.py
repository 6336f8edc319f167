"""Deterministic content digests of typed values (cache keys, resume lineage).

``digest_value(value)`` walks a value and feeds a tagged, length-prefixed encoding of it to
SHA-256, so two values get the same digest exactly when they are equal in content and
type, in every process (no ``hash()``, no ``id()``, no pickle):

- ``None``, bools, ints, floats (exact, via ``float.hex``), str, bytes;
- lists and tuples in order; dicts, sets and frozensets in a canonical order (by the
  digest of each key or item), so insertion order does not count;
- enums (class + value), datetimes, dates, times, timedeltas, decimals, UUIDs;
- attrs and dataclass instances: qualified class name + every field, at any depth (there
  is no depth cut-off: a change 8 levels down changes the digest);
- numpy arrays: dtype, shape and the raw bytes streamed into the hash (no copy when the
  array is contiguous); numpy scalars likewise;
- ``pathlib.Path``: the path, and the bytes of the file it names (streamed in 1 MiB blocks)
  or of every file under the folder it names;
- functions and lambdas: their normalized code (``molexp.caching.code``), so a lambda
  defined in ``__main__`` digests the same across processes;
- types with a codec: what the codec stores (``JsonCodec``: its JSON; ``FileCodec``: the
  bytes it writes), so ASE ``Atoms`` digests by content.

Anything else (an open file, a socket, a generator, a plain object without fields) raises
``UnhashableValue`` naming where it is (``inputs['train'].model.handle``): a task whose
inputs cannot be digested is uncacheable, never keyed on something unstable.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import hashlib
import os
import pathlib
import struct
import uuid
import weakref
from collections.abc import Mapping
from typing import IO, Any

import attrs

__all__ = ["DIGEST_VERSION", "UnhashableValue", "digest_bytes", "digest_file", "digest_value"]

DIGEST_VERSION = "1"
"""Bumped when the encoding below changes (part of every cache key)."""

_BLOCK = 1 << 20
_HEADERS: weakref.WeakKeyDictionary[type[Any], tuple[bytes, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)
"""Per attrs/dataclass class: its digest header and field names (fields are fixed)."""


class UnhashableValue(TypeError):
    """A value (named by ``where``) that cannot be digested deterministically."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class _HashWriter:
    """A binary stream that hashes what is written to it (for ``FileCodec.write``)."""

    def __init__(self, h: Any) -> None:
        self._h = h

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._h.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("not seekable")


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _update_file(h: Any, path: pathlib.Path) -> None:
    with open(path, "rb", buffering=0) as stream:
        buffer = bytearray(_BLOCK)
        view = memoryview(buffer)
        while True:
            n = stream.readinto(buffer)
            if not n:
                break
            h.update(view[:n])


def digest_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 hex digest of a file's bytes, streamed."""
    h = hashlib.sha256()
    _update_file(h, pathlib.Path(path))
    return h.hexdigest()


def digest_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


class _Walker:
    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: set[int] = set()

    def sub(self, value: Any, where: str) -> bytes:
        h = hashlib.sha256()
        self.feed(h, value, where)
        return h.digest()

    def feed(self, h: Any, value: Any, where: str) -> None:
        tag = h.update
        if value is None:
            tag(b"N")
            return
        cls = type(value)
        if cls is bool:
            tag(b"T" if value else b"F")
            return
        if cls is int:
            text = str(value).encode()
            tag(b"i%d:" % len(text) + text)
            return
        if cls is float:
            text = value.hex().encode()
            tag(b"f%d:" % len(text) + text)
            return
        if cls is str:
            data = value.encode("utf-8", "surrogatepass")
            tag(b"s%d:" % len(data) + data)
            return
        if cls is bytes or cls is bytearray:
            tag(b"b%d:" % len(value))
            tag(value)
            return
        if isinstance(value, enum.Enum):
            tag(b"E" + _qualname(cls).encode() + b"\0")
            self.feed(h, value.value, f"{where}.value")
            return
        numpy_kind = _numpy_kind(value)
        if numpy_kind is not None:
            self._numpy(h, value, numpy_kind, where)
            return
        if isinstance(value, (list, tuple)):
            self._enter(value, where)
            try:
                tag((b"L" if isinstance(value, list) else b"U") + struct.pack("<Q", len(value)))
                if cls is not list and cls is not tuple:  # a named tuple, a list subclass
                    tag(_qualname(cls).encode() + b"\0")
                for i, item in enumerate(value):
                    self.feed(h, item, f"{where}[{i}]")
            finally:
                self._open.discard(id(value))
            return
        if isinstance(value, Mapping):
            self._enter(value, where)
            try:
                pairs = sorted(
                    self.sub(k, f"{where} key {k!r}") + self.sub(v, f"{where}[{k!r}]")
                    for k, v in value.items()
                )
            finally:
                self._open.discard(id(value))
            tag(b"D" + struct.pack("<Q", len(pairs)))
            for pair in pairs:
                tag(pair)
            return
        if isinstance(value, (set, frozenset)):
            items = sorted(self.sub(item, f"{where} item") for item in value)
            tag(b"S" + struct.pack("<Q", len(items)))
            for item in items:
                tag(item)
            return
        if attrs.has(cls) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            self._instance(h, value, where)
            return
        if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
            text = f"{_qualname(cls)}:{value.isoformat()}".encode()
            tag(b"t%d:" % len(text) + text)
            return
        if isinstance(value, (_dt.timedelta, decimal.Decimal, uuid.UUID, complex)):
            text = f"{_qualname(cls)}:{value!r}".encode()
            tag(b"r%d:" % len(text) + text)
            return
        if isinstance(value, pathlib.PurePath):
            self._path(h, value, where)
            return
        if isinstance(value, type):
            from molexp.caching.code import code_digest

            tag(b"C" + _qualname(value).encode() + b"\0" + code_digest(value).encode())
            return
        if callable(value) and hasattr(value, "__code__"):
            from molexp.caching.code import code_digest

            tag(b"P" + code_digest(value).encode())
            return
        for base in (int, float, str, bytes):  # subclasses of the builtins
            if isinstance(value, base):
                tag(b"x" + _qualname(cls).encode() + b"\0")
                plain: Any = base
                self.feed(h, plain(value), where)
                return
        self._codec(h, value, where)

    def _enter(self, value: Any, where: str) -> None:
        if id(value) in self._open:
            raise UnhashableValue(where, "the value contains itself (a cycle)")
        self._open.add(id(value))

    def _instance(self, h: Any, value: Any, where: str) -> None:
        cls = type(value)
        header = _HEADERS.get(cls)
        if header is None:
            if attrs.has(cls):
                names = tuple(a.name for a in attrs.fields(cls))
            else:
                names = tuple(f.name for f in dataclasses.fields(value))
            prefix = b"O" + _qualname(cls).encode() + b"\0" + struct.pack("<Q", len(names))
            header = _HEADERS[cls] = (prefix, names)
        prefix, names = header
        self._enter(value, where)
        try:
            h.update(prefix)
            for name in names:
                h.update(name.encode() + b"\0")
                self.feed(h, getattr(value, name), f"{where}.{name}")
        finally:
            self._open.discard(id(value))

    def _numpy(self, h: Any, value: Any, kind: str, where: str) -> None:
        import numpy as np

        dtype = value.dtype
        if dtype.hasobject:
            if kind == "scalar":
                self.feed(h, value.item(), where)
                return
            h.update(b"A" + dtype.str.encode() + repr(value.shape).encode())
            for i, item in enumerate(value.ravel(order="C").tolist()):
                self.feed(h, item, f"{where}[{i}]")
            return
        if kind == "scalar":
            h.update(b"a" + dtype.str.encode() + b"\0" + value.tobytes())
            return
        h.update(b"A" + dtype.str.encode() + repr(value.shape).encode() + b"\0")
        array: Any = value if value.flags.c_contiguous else np.ascontiguousarray(value)
        h.update(memoryview(array).cast("B") if array.size else b"")

    def _path(self, h: Any, value: pathlib.PurePath, where: str) -> None:
        text = str(value).encode()
        h.update(b"p%d:" % len(text) + text)
        path = pathlib.Path(value)
        if path.is_file():
            h.update(b"f")
            _update_file(h, path)
        elif path.is_dir():
            h.update(b"d")
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = str(sub.relative_to(path)).encode()
                h.update(b"%d:" % len(rel) + rel)
                _update_file(h, sub)
        else:
            h.update(b"-")

    def _codec(self, h: Any, value: Any, where: str) -> None:
        from molexp.codecs import registry

        codec = registry.lookup(type(value))
        if isinstance(codec, registry.JsonCodec):
            h.update(b"J" + codec.name.encode() + b"\0")
            self.feed(h, codec.to_json(value), f"{where} (codec {codec.name!r})")
            return
        if isinstance(codec, registry.FileCodec):
            h.update(b"B" + codec.name.encode() + b"\0")
            writer: IO[bytes] = _HashWriter(h)  # type: ignore[assignment]
            codec.write(value, writer)
            return
        raise UnhashableValue(
            where,
            f"a {_qualname(type(value))} cannot be digested deterministically (not a JSON "
            "value, attrs/dataclass instance, array, path or type with a codec)",
        )


def _numpy_kind(value: Any) -> str | None:
    module = type(value).__module__
    if module != "numpy" and not module.startswith("numpy."):
        return None
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return "array" if type(value).__name__ in ("ndarray", "memmap") else "scalar"
    return None


def digest_value(value: Any, *, where: str = "value") -> str:
    """The SHA-256 hex digest of ``value``'s content (see the module doc).

    Raises ``UnhashableValue`` naming the part (``where`` + its path) that cannot be digested.
    """
    h = hashlib.sha256()
    _Walker().feed(h, value, where)
    return h.hexdigest()
