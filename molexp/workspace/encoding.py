"""How asset data becomes bytes on disk, and back.

Accepted: ``bytes``/``bytearray``/``memoryview`` (stored as is), ``str`` (UTF-8 text),
``pathlib.Path`` of a regular file (copied), JSON values (``dict`` with ``str`` keys,
``list``/``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``) and attrs/dataclass
instances (unstructured by cattrs, then stored as JSON). Anything else is a ``TypeError``
that names the offending value and its location, raised before anything is written:
values are never silently stringified.
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

__all__ = ["Encoded", "Encoding", "decode", "encode", "to_json_value"]

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


def _check_json(value: Any, where: str, what: str) -> Any:
    """Return ``value`` as plain JSON containers, or raise TypeError naming ``where``."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(
                f"{what}: value at {where} is {value!r}; JSON has no NaN or Infinity "
                "(store None, a string, or flag the diverged value explicitly)"
            )
        return value
    if isinstance(value, (list, tuple)):
        return [_check_json(item, f"{where}[{i}]", what) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{what}: key {key!r} at {where} is a {type(key).__name__}; JSON object "
                    "keys must be str (convert them explicitly)"
                )
            out[key] = _check_json(item, f"{where}[{key!r}]", what)
        return out
    hint = ""
    if isinstance(value, (set, frozenset)):
        hint = " (sets have no order; pass a sorted list)"
    elif hasattr(value, "tolist"):
        hint = " (an array: pass value.tolist() or bytes)"
    elif attrs.has(type(value)) or dataclasses.is_dataclass(value):
        hint = " (nested instances must be unstructurable to JSON values)"
    raise TypeError(
        f"{what}: value at {where} of type {type(value).__module__}.{type(value).__qualname__} "
        f"is not JSON-serializable{hint}"
    )


def to_json_value(value: Any, *, what: str) -> Any:
    """``value`` as plain JSON (attrs/dataclass instances unstructured), or TypeError."""
    if attrs.has(type(value)) or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
        value = _converter.unstructure(value)
    return _check_json(value, "value", what)


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
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
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
