"""How asset data becomes bytes on disk, and back.

Accepted: ``bytes``/``bytearray``/``memoryview`` (stored as is), ``str`` (UTF-8 text),
``pathlib.Path`` of a regular file (copied), JSON values (``dict`` with ``str`` keys,
``list``/``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``) and attrs/dataclass
instances (unstructured by cattrs, then stored as JSON). Anything else is a ``TypeError``
that names the offending value and its location, raised before anything is written:
values are never silently stringified. So are NaN/Infinity anywhere in the value, a value
that contains itself, and nesting deeper than ``MAX_DEPTH`` (200) levels.
"""

from __future__ import annotations

import dataclasses
import json
import math
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs

from molexp import _json
from molexp._json import MAX_DEPTH, shorten_where

__all__ = ["MAX_DEPTH", "Encoded", "Encoding", "decode", "dumps", "encode", "to_json_value"]

T = TypeVar("T")
Encoding = Literal["bytes", "text", "json"]

_converter = cattrs.Converter()
_OCTET = "application/octet-stream"


@attrs.frozen
class Encoded:
    """Data ready to store: ``payload`` bytes, or a ``source`` file to copy."""

    encoding: Encoding
    media_type: str
    payload: bytes | None = None
    source: Path | None = None
    type_name: str | None = None
    """Qualified name of the attrs/dataclass type the JSON was unstructured from."""


def _check_json(value: Any, where: str, what: str, open_: dict[int, str]) -> Any:
    """Return ``value`` as plain JSON containers, or raise TypeError naming ``where``.

    ``open_`` maps the containers enclosing ``value`` (by id) to their ``where``: a
    container met again inside itself is a cycle, and more than ``MAX_DEPTH`` of them
    is too deep (checked here, before ``json`` would hit the recursion limit).
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(
                f"{what}: value at {shorten_where(where)} is {value!r}; JSON has no NaN or "
                "Infinity (store None, a string, or flag the diverged value explicitly)"
            )
        return value
    if isinstance(value, (list, tuple, Mapping)):
        _enter(value, where, what, open_)
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
                    out[key] = _check_json(item, f"{where}[{key!r}]", what, open_)
                return out
            items: list[Any] = []
            for i, item in enumerate(value):
                items.append(_check_json(item, f"{where}[{i}]", what, open_))
            return items
        finally:
            del open_[id(value)]
    hint = ""
    if isinstance(value, (set, frozenset)):
        hint = " (sets have no order; pass a sorted list)"
    elif hasattr(value, "tolist"):
        hint = " (an array: pass value.tolist() or bytes)"
    elif attrs.has(type(value)) or dataclasses.is_dataclass(value):
        hint = " (nested instances must be unstructurable to JSON values)"
    raise TypeError(
        f"{what}: value at {shorten_where(where)} of type "
        f"{type(value).__module__}.{type(value).__qualname__} is not JSON-serializable{hint}"
    )


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


def _is_instance(value: Any) -> bool:
    """An attrs or dataclass instance (not the class itself)."""
    return attrs.has(type(value)) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )


_LEAVES = (str, bytes, int, float, type(None))


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


def to_json_value(value: Any, *, what: str) -> Any:
    """``value`` as plain JSON (attrs/dataclass instances unstructured), or TypeError.

    The TypeError names where the offending value is: a non-finite float, a value of an
    unsupported type, a non-str key, a cycle, or nesting deeper than ``MAX_DEPTH``.
    """
    if _is_instance(value):
        problem = _nesting_problem(value, what)
        if problem is not None:
            raise problem
        try:
            value = _converter.unstructure(value)
        except RecursionError:  # a custom unstructure hook that recurses on its own
            raise TypeError(
                f"{what}: unstructuring the {type(value).__qualname__} instance recursed "
                "without end"
            ) from None
    return _check_json(value, "value", what, {})


def dumps(value: Any) -> str:
    """``value`` (already checked by :func:`to_json_value`) as compact strict JSON."""
    return _json.dumps(value)


def _guess(name: str) -> str | None:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def encode(value: Any, *, name: str, what: str) -> Encoded:
    """Encode ``value`` stored under ``name``; ``what`` prefixes error messages."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Encoded("bytes", _guess(name) or _OCTET, payload=bytes(value))
    if isinstance(value, str):
        guessed = _guess(name)
        media = guessed if guessed and guessed.startswith("text/") else "text/plain"
        return Encoded("text", media, payload=value.encode("utf-8"))
    if isinstance(value, Path):
        if not value.exists():
            raise FileNotFoundError(f"{what}: source file {str(value)!r} does not exist")
        if not value.is_file():
            raise TypeError(
                f"{what}: source {str(value)!r} is not a regular file (folders are not copied; "
                "save its files one by one or an archive of it)"
            )
        return Encoded("bytes", _guess(name) or _guess(value.name) or _OCTET, source=value)
    type_name: str | None = None
    if attrs.has(type(value)) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        type_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if (
        type_name is None
        and not isinstance(value, (int, float, list, tuple, Mapping))
        and (value is not None)
    ):
        raise TypeError(
            f"{what}: cannot store a value of type {type(value).__module__}."
            f"{type(value).__qualname__}; supported: bytes, str, pathlib.Path, JSON values "
            "(dict/list/str/int/float/bool/None) and attrs/dataclass instances"
        )
    plain = to_json_value(value, what=what)
    text = _json.dumps(plain)  # allow_nan=False: a second guard behind the check
    return Encoded("json", "application/json", payload=text.encode("utf-8"), type_name=type_name)


def decode(data: bytes, encoding: str, *, as_type: type[T] | None = None, what: str) -> Any:
    """Turn stored bytes back into a value; ``as_type`` structures JSON with cattrs."""
    if encoding == "json":
        value = json.loads(data)
        return value if as_type is None else _converter.structure(value, as_type)
    if as_type is not None:
        raise TypeError(f"{what}: as_type= only applies to JSON data, this is {encoding}")
    if encoding == "text":
        return data.decode("utf-8")
    return data
