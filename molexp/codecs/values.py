"""Values as stored: strict JSON, a codec's file, or a bundle of both; and back, typed.

``pack(value)`` chooses the stored form of any value molexp accepts:

- a value whose class has a ``FileCodec`` -> that file (``encoding`` = the codec's name);
  a non-empty list of them whose codec has ``write_many`` -> one file (``name[]``);
- JSON values, attrs/dataclass instances (unstructured by cattrs) and containers of them,
  with ``JsonCodec`` values replaced by their JSON -> a JSON document (``json``);
- the same with values inside that have a ``FileCodec`` (an attrs class with an
  ``NDArray`` field) -> a **bundle**: an uncompressed zip holding ``value.json`` (the
  document, where each such value is a reference ``{"$codec": name, "$file": path}``) and
  one member per value, named after where it sits (``forces.npy``, ``frames/3/cell.npy``).
  With only ``.npy`` members its suffix is ``.npz``: ``numpy.load(path)`` opens it and gives
  the arrays by name, ``json.loads(npz["value.json"])`` the rest; any zip tool lists it.

``unpack(stream, encoding, as_type=T)`` reads it back, structured into ``T`` with cattrs
(codec types included), so a stored value comes back as its declared type: the API the
workspace uses for artifacts and checkpoints, and the one for typed task outputs.

The JSON rules are strict (``molexp._json``): NaN/Infinity are rejected naming where they
are, and so are cycles and nesting deeper than ``MAX_DEPTH``. Arrays are not JSON: they
keep NaN, Inf, dtype and byte order in their own ``.npy`` file.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import re
import typing
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar

import attrs
import cattrs

from molexp import _json
from molexp._json import MAX_DEPTH, shorten_where
from molexp.codecs import registry
from molexp.codecs.registry import CodecError, FileCodec, JsonCodec

__all__ = ["BUNDLE_DOCUMENT", "Packed", "pack", "structure", "to_json", "unpack"]

T = TypeVar("T")

BUNDLE_DOCUMENT = "value.json"
"""The bundle member holding the JSON document."""

_REF_CODEC = "$codec"
_REF_FILE = "$file"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same value gives the same bytes (and digest)


@attrs.frozen
class Packed:
    """A value ready to store: its ``payload`` bytes, or a ``write`` into a binary stream."""

    encoding: str
    """``json``, ``bundle``, a codec name, or a codec name + ``[]`` (a list in one file)."""
    media_type: str
    suffix: str
    type_name: str | None = None
    """Qualified name of the value's class (an attrs class, ``numpy.ndarray``, ...)."""
    payload: bytes | None = None
    write: Callable[[IO[bytes]], None] | None = None


@attrs.frozen
class _Member:
    path: str
    codec: FileCodec[Any]
    value: Any


def _qualname(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# -- cattrs, aware of codecs ---------------------------------------------------------------

_converters: dict[int, cattrs.Converter] = {}


def _has_codec(tp: Any) -> bool:
    return registry.lookup(tp) is not None


def _structure_codec(data: Any, tp: Any) -> Any:
    codec = registry.lookup(tp)
    assert codec is not None
    if isinstance(codec, JsonCodec):
        return codec.from_json(data, tp)
    if isinstance(data, codec.type):
        return data
    raise CodecError(
        f"expected a stored {_qualname(codec.type)} (codec {codec.name!r}), "
        f"got {type(data).__name__} {shorten_where(repr(data), 60)}"
    )


def converter() -> cattrs.Converter:
    """The cattrs converter for stored values: types with a codec pass through it."""
    gen = registry.generation()
    conv = _converters.get(gen)
    if conv is None:
        conv = cattrs.Converter()
        conv.register_unstructure_hook_func(_has_codec, lambda value: value)
        conv.register_structure_hook_func(_has_codec, _structure_codec)
        _converters.clear()
        _converters[gen] = conv
    return conv


# -- the strict walk -------------------------------------------------------------------------


_HAS_FIELDS: dict[type[Any], bool] = {}
"""Per class: whether its instances are attrs or dataclass instances (asked per value)."""


def _is_instance(value: Any) -> bool:
    """An attrs or dataclass instance (not the class itself: its class is a metaclass)."""
    cls = type(value)
    try:
        known = _HAS_FIELDS.get(cls)
    except TypeError:  # an unhashable metaclass instance
        return attrs.has(cls) or dataclasses.is_dataclass(cls)
    if known is None:
        if len(_HAS_FIELDS) >= 4096:  # classes made on the fly must not pile up
            _HAS_FIELDS.clear()
        known = _HAS_FIELDS[cls] = attrs.has(cls) or dataclasses.is_dataclass(cls)
    return known


_LEAVES = (str, bytes, int, float, type(None))


def _enter(value: Any, where: str, what: str, open_: dict[int, str]) -> None:
    """Record ``value`` as open at ``where``; TypeError on a cycle or too deep a nesting."""
    enclosing = open_.get(id(value))
    if enclosing is not None:
        raise TypeError(
            f"{what}: value at {shorten_where(where)} is {shorten_where(enclosing)} itself "
            "(a cycle); JSON cannot store a value that contains itself"
        )
    if len(open_) >= MAX_DEPTH:
        raise TypeError(
            f"{what}: value nests deeper than {MAX_DEPTH} levels (at {shorten_where(where)}); "
            "JSON values are stored up to that depth: flatten the data or store bytes"
        )
    open_[id(value)] = where


def _nesting_problem(value: Any, what: str) -> TypeError | None:
    """The cycle or too deep nesting in ``value`` (through instance fields), if any.

    Iterative, and run before cattrs unstructures an instance: cattrs recurses without a
    limit, which is a RecursionError at best and a crash of the interpreter at worst (a
    C stack overflow on Python 3.13.0).
    """
    open_: dict[int, str] = {}
    # (entering?, item, where of the parent, key or attribute name, is an attribute?)
    stack: list[tuple[bool, Any, str, Any, bool]] = [(True, value, "value", None, False)]
    while stack:
        entering, item, parent, key, attribute = stack.pop()
        if not entering:
            del open_[id(item)]
            continue
        children: list[tuple[Any, Any, bool]]
        if isinstance(item, Mapping):
            children = [(v, k, False) for k, v in item.items() if not isinstance(v, _LEAVES)]
        elif isinstance(item, (list, tuple)):
            children = [(v, i, False) for i, v in enumerate(item) if not isinstance(v, _LEAVES)]
        elif attrs.has(type(item)):
            names = [f.name for f in attrs.fields(type(item))]
            children = [(getattr(item, name, None), name, True) for name in names]
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            names = [f.name for f in dataclasses.fields(item)]
            children = [(getattr(item, name, None), name, True) for name in names]
        else:
            continue
        if key is None:
            where = parent
        else:
            where = f"{parent}.{key}" if attribute else f"{parent}[{key!r}]"
        try:
            _enter(item, where, what, open_)
        except TypeError as exc:
            return exc
        stack.append((False, item, where, None, False))
        stack.extend((True, child, where, k, attr) for child, k, attr in reversed(children))
    return None


def _unstructure(value: Any, what: str) -> Any:
    problem = _nesting_problem(value, what)
    if problem is not None:
        raise problem
    try:
        return converter().unstructure(value)
    except RecursionError:  # a custom unstructure hook that recurses on its own
        raise TypeError(
            f"{what}: unstructuring the {type(value).__qualname__} instance recursed without end"
        ) from None


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_STEP = re.compile(r"\.([^.\[]+)|\[(.*?)\](?=\.|\[|$)")


def _member_path(where: str, suffix: str, taken: set[str]) -> str:
    """``value['frames'][3].cell`` -> ``frames/3/cell.npy`` (unique within the bundle)."""
    parts = []
    for attribute, key in _STEP.findall(where[len("value") :]):
        part = attribute or key.strip("'\"")
        part = _SAFE.sub("_", part).strip(".") or "_"
        parts.append(part)
    base = "/".join(parts) or "value"
    path = f"{base}{suffix}"
    n = 1
    while path in taken or path == BUNDLE_DOCUMENT:
        n += 1
        path = f"{base}~{n}{suffix}"
    taken.add(path)
    return path


class _Walk:
    """One strict pass over a value: plain JSON out, file-codec values collected."""

    def __init__(self, what: str, members: list[_Member] | None) -> None:
        self.what = what
        self.members = members
        self.taken: set[str] = set()
        self.open: dict[int, str] = {}

    def value(self, value: Any, where: str) -> Any:
        what = self.what
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise TypeError(
                    f"{what}: value at {shorten_where(where)} is {value!r}; JSON has no NaN or "
                    "Infinity (store None, a string, or flag the diverged value explicitly; "
                    "arrays keep NaN: store numpy.asarray(x))"
                )
            return float(value)
        if isinstance(value, (list, tuple, Mapping)):
            _enter(value, where, what, self.open)
            try:
                if isinstance(value, Mapping):
                    out: dict[str, Any] = {}
                    for key, item in value.items():
                        if not isinstance(key, str):
                            raise TypeError(
                                f"{what}: key {key!r} at {shorten_where(where)} is a "
                                f"{type(key).__name__}; JSON object keys must be str "
                                "(convert them explicitly)"
                            )
                        if key == _REF_CODEC and self.members is not None:
                            raise TypeError(
                                f"{what}: key {key!r} at {shorten_where(where)} is reserved "
                                "(it marks a value stored in its own file); rename it"
                            )
                        out[key] = self.value(item, f"{where}[{key!r}]")
                    return out
                return [self.value(item, f"{where}[{i}]") for i, item in enumerate(value)]
            finally:
                del self.open[id(value)]
        codec = registry.lookup(type(value))
        if codec is not None:
            return self.coded(value, codec, where)
        if _is_instance(value):  # an instance inside a plain container
            _enter(value, where, what, self.open)
            try:
                return self.value(_unstructure(value, what), where)
            finally:
                del self.open[id(value)]
        raise self.no_codec(value, where)

    def coded(self, value: Any, codec: JsonCodec[Any] | FileCodec[Any], where: str) -> Any:
        if isinstance(codec, JsonCodec):
            _enter(value, where, self.what, self.open)
            try:
                return self.value(codec.to_json(value), where)
            finally:
                del self.open[id(value)]
        if self.members is None:
            raise TypeError(
                f"{self.what}: value at {shorten_where(where)} of type "
                f"{_qualname(type(value))} is stored as a file (codec {codec.name!r}, "
                f"{codec.suffix}); results and params hold JSON summaries only: save it with "
                "ctx.artifact.save(...) or ctx.checkpoint(...), or record a summary "
                "(e.g. float(x.mean()))"
            )
        path = _member_path(where, codec.suffix, self.taken)
        self.members.append(_Member(path, codec, value))
        return {_REF_CODEC: codec.name, _REF_FILE: path}

    def no_codec(self, value: Any, where: str) -> TypeError:
        hint = ""
        if isinstance(value, (set, frozenset)):
            hint = " (sets have no order; pass a sorted list)"
        kind = _qualname(type(value))
        return CodecError(
            f"{self.what}: value at {shorten_where(where)} of type {kind} is not "
            f"JSON-serializable and has no codec{hint}; teach molexp the type with "
            f"molexp.codecs.register(JsonCodec(type={type(value).__qualname__}, ...)) or "
            "FileCodec(...) (see docs/codecs.md)"
        )


def to_json(value: Any, *, what: str) -> Any:
    """``value`` as plain strict JSON (instances unstructured, JSON codecs applied).

    A TypeError names where the offending value is: a non-finite float, a value of a type
    with no codec or with a file codec (not a JSON summary), a non-str key, a cycle, or
    nesting deeper than ``MAX_DEPTH``. ``what`` heads the message.
    """
    if _is_instance(value) and registry.lookup(type(value)) is None:
        value = _unstructure(value, what)
    return _Walk(what, None).value(value, "value")


def _many_codec(value: Any) -> FileCodec[Any] | None:
    if not isinstance(value, list) or not value:
        return None
    codec = registry.lookup(type(value[0]))
    if not isinstance(codec, FileCodec) or codec.write_many is None:
        return None
    if all(isinstance(item, codec.type) for item in value):
        return codec
    return None


_PLAIN_SCALARS = frozenset((type(None), bool, int, str))


def pack(value: Any, *, what: str) -> Packed:
    """The stored form of ``value`` (see the module doc); TypeError before anything is
    written when a part of it cannot be stored."""
    codec = registry.lookup(type(value))
    if codec is None and type(value) in _PLAIN_SCALARS:
        # What most tasks return: nothing to walk (floats take the walk: NaN is refused).
        return Packed("json", "application/json", ".json", payload=_json.dumps(value).encode())
    if isinstance(codec, FileCodec):
        file_codec: FileCodec[Any] = codec

        def write_one(stream: IO[bytes]) -> None:
            file_codec.write(value, stream)

        return Packed(
            codec.name,
            codec.media_type,
            codec.suffix,
            type_name=_qualname(type(value)),
            write=write_one,
        )
    many = _many_codec(value)
    if many is not None:
        write_many = many.write_many
        assert write_many is not None

        def write_list(stream: IO[bytes]) -> None:
            write_many(value, stream)

        return Packed(
            f"{many.name}[]",
            many.media_type,
            many.suffix,
            type_name=f"list[{_qualname(many.type)}]",
            write=write_list,
        )
    type_name: str | None = None
    if _is_instance(value):
        type_name = _qualname(type(value))
    elif codec is not None:
        type_name = _qualname(type(value))
    elif not (value is None or isinstance(value, (str, int, float, list, tuple, Mapping))):
        raise CodecError(
            f"{what}: cannot store a value of type {_qualname(type(value))}; supported: "
            "bytes, str, pathlib.Path, JSON values (dict/list/str/int/float/bool/None), "
            "attrs/dataclass instances and types with a codec (register one with "
            "molexp.codecs.register; see docs/codecs.md)"
        )
    if codec is None and _is_instance(value):
        value = _unstructure(value, what)
    members: list[_Member] = []
    document = _Walk(what, members).value(value, "value")
    text = _json.dumps(document)  # allow_nan=False: a second guard behind the walk
    if not members:
        return Packed(
            "json", "application/json", ".json", type_name=type_name, payload=text.encode()
        )
    body = text.encode()
    suffix = ".npz" if all(m.path.endswith(".npy") for m in members) else ".zip"

    def write_bundle(stream: IO[bytes]) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(zipfile.ZipInfo(BUNDLE_DOCUMENT, _ZIP_TIME), body)
            for member in members:
                info = zipfile.ZipInfo(member.path, _ZIP_TIME)
                with zf.open(info, "w", force_zip64=True) as out:
                    member.codec.write(member.value, out)

    return Packed("bundle", "application/zip", suffix, type_name=type_name, write=write_bundle)


# -- reading back ----------------------------------------------------------------------------


def structure(data: Any, as_type: Any, *, what: str) -> Any:
    """``data`` (JSON, with decoded codec values) structured into ``as_type``."""
    try:
        return converter().structure(data, as_type)
    except CodecError as exc:
        raise CodecError(f"{what}: {exc}") from exc
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        raise TypeError(f"{what}: the stored value does not fit {as_type!r}: {exc!r}") from exc


def _resolve(node: Any, zf: zipfile.ZipFile, what: str) -> Any:
    if isinstance(node, dict):
        if set(node) == {_REF_CODEC, _REF_FILE}:
            name = str(node[_REF_CODEC])
            codec = registry.codec_named(name)
            if not isinstance(codec, FileCodec):
                raise CodecError(
                    f"{what}: member {node[_REF_FILE]!r} was stored with the codec {name!r}, "
                    "which is not registered in this process (import the module that "
                    "registers it)"
                )
            with zf.open(str(node[_REF_FILE])) as member:
                return codec.read(member)
        return {k: _resolve(v, zf, what) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, zf, what) for v in node]
    return node


def _check_read(value: Any, as_type: Any, encoding: str, what: str) -> Any:
    if as_type is None:
        return value
    cls = registry.origin_class(as_type)
    if encoding.endswith("[]"):
        args = typing.get_args(as_type)
        if cls is not None and not issubclass(list, cls):
            raise CodecError(f"{what}: it holds a list ({encoding}), not a {as_type!r}")
        item = registry.origin_class(args[0]) if args else None
        if item is not None:
            for i, element in enumerate(value):
                if not isinstance(element, item):
                    raise CodecError(
                        f"{what}: item {i} is a {_qualname(type(element))}, not {item.__name__}"
                    )
        return value
    if cls is not None and not isinstance(value, cls):
        codec = registry.lookup(as_type)
        if isinstance(codec, JsonCodec):
            return codec.from_json(value, as_type)
        raise CodecError(
            f"{what}: it was stored as {_qualname(type(value))} (codec {encoding!r}); it "
            f"cannot be loaded as {as_type!r}"
        )
    return value


def _read_foreign(stream: IO[bytes], as_type: Any, suffix: str, what: str) -> Any:
    """A copied file (encoding ``bytes``/``text``) read as ``as_type`` through its codec."""
    cls = registry.origin_class(as_type)
    args = typing.get_args(as_type)
    many = cls is not None and issubclass(cls, list) and len(args) == 1
    codec = registry.lookup(args[0] if many else as_type)
    if isinstance(codec, FileCodec):
        if many:
            if suffix == codec.suffix and codec.read_many is not None:
                return codec.read_many(stream)
            if codec.read_file_many is not None:
                return codec.read_file_many(stream, suffix)
        else:
            if suffix == codec.suffix:
                return codec.read(stream)
            if codec.read_file is not None:
                return codec.read_file(stream, suffix)
    raise CodecError(
        f"{what}: a {suffix or 'suffix-less'} file cannot be loaded as {as_type!r} (no codec "
        "for that type reads it; load it as bytes, str or pathlib.Path)"
    )


def unpack(
    stream: IO[bytes], encoding: str, *, as_type: Any = None, what: str, suffix: str = ""
) -> Any:
    """Read a value stored by ``pack`` (or a copied file: ``bytes``/``text``) from ``stream``.

    ``as_type`` structures it into that type (cattrs, codec types included); for a copied
    file it selects the codec that reads the file (``as_type=Atoms`` on a ``.traj``).
    """
    if encoding == "json":
        data = json.load(stream)
        return data if as_type is None else structure(data, as_type, what=what)
    if encoding == "bundle":
        with zipfile.ZipFile(stream) as zf:
            document = json.loads(zf.read(BUNDLE_DOCUMENT))
            data = _resolve(document, zf, what)
        return data if as_type is None else structure(data, as_type, what=what)
    if encoding in ("bytes", "text"):
        if as_type is None:
            raw = stream.read()
            return raw.decode("utf-8") if encoding == "text" else raw
        if as_type is bytes:
            return stream.read()
        if as_type is str:
            return stream.read().decode("utf-8")
        return _read_foreign(stream, as_type, suffix, what)
    name = encoding.removesuffix("[]")
    codec = registry.codec_named(name)
    if not isinstance(codec, FileCodec):
        raise CodecError(
            f"{what}: it was stored with the codec {name!r}, which is not registered in "
            "this process (import the module that registers it, or install its library)"
        )
    if encoding.endswith("[]"):
        if codec.read_many is None:
            raise CodecError(f"{what}: the codec {name!r} no longer reads lists")
        value: Any = codec.read_many(stream)
    else:
        value = codec.read(stream)
    return _check_read(value, as_type, encoding, what)


def read_bytes(data: bytes, encoding: str, *, as_type: Any = None, what: str) -> Any:
    """``unpack`` from bytes in memory."""
    return unpack(io.BytesIO(data), encoding, as_type=as_type, what=what)
