"""How asset data becomes bytes on disk, and back (through ``molexp.codecs``).

Accepted: ``bytes``/``bytearray``/``memoryview`` (stored as is), ``str`` (UTF-8 text),
``pathlib.Path`` of a regular file (copied; its media type from its extension), and
everything ``molexp.codecs.pack`` stores: JSON values (``dict`` with ``str`` keys,
``list``/``tuple``, ``str``, ``int``, ``float``, ``bool``, ``None``), attrs/dataclass
instances (unstructured by cattrs), and values of types with a codec (numpy arrays and
scalars, ASE ``Atoms``, registered types), alone or inside the others. Anything else is a
``TypeError`` that names the offending value and its location, raised before anything is
written: values are never silently stringified. So are NaN/Infinity anywhere in JSON, a
value that contains itself, and nesting deeper than ``MAX_DEPTH`` (200) levels.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import attrs

from molexp import _json
from molexp._json import MAX_DEPTH
from molexp.codecs import media, values

__all__ = ["MAX_DEPTH", "Encoded", "Encoding", "decode", "dumps", "encode", "to_json_value"]

Encoding = str
"""``bytes``, ``text``, ``json``, ``bundle``, or the name of the codec that wrote the file."""


@attrs.frozen
class Encoded:
    """Data ready to store: ``payload`` bytes, a ``source`` file to copy, or a ``write``
    into the (write-only, unseekable) stream of the new file."""

    encoding: Encoding
    media_type: str
    payload: bytes | None = None
    source: Path | None = None
    type_name: str | None = None
    """Qualified name of the type the value was stored from (attrs class, numpy.ndarray)."""
    write: Callable[[IO[bytes]], None] | None = None
    suffix: str | None = None
    """The file extension of the stored form (``.npy``), when it has its own."""


def to_json_value(value: Any, *, what: str) -> Any:
    """``value`` as plain JSON (attrs/dataclass instances unstructured, JSON codecs applied),
    or TypeError naming where the offending value is (see ``molexp.codecs.to_json``)."""
    return values.to_json(value, what=what)


def dumps(value: Any) -> str:
    """``value`` (already checked by :func:`to_json_value`) as compact strict JSON."""
    return _json.dumps(value)


def encode(value: Any, *, name: str, what: str) -> Encoded:
    """Encode ``value`` stored under ``name``; ``what`` prefixes error messages."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Encoded(
            "bytes", media.media_type_for(name) or media.OCTET_STREAM, payload=bytes(value)
        )
    if isinstance(value, str):
        guessed = media.media_type_for(name)
        text_type = guessed if guessed and media.is_text(guessed) else "text/plain"
        return Encoded("text", text_type, payload=value.encode("utf-8"))
    if isinstance(value, Path):
        if not value.exists():
            raise FileNotFoundError(f"{what}: source file {str(value)!r} does not exist")
        if not value.is_file():
            raise TypeError(
                f"{what}: source {str(value)!r} is not a regular file (folders are not copied "
                "into a run: save an archive of it, e.g. shutil.make_archive, or register the "
                "folder in place with assets.add(name, path, copy=False))"
            )
        guessed = media.media_type_for(name) or media.media_type_for(value.name)
        return Encoded("bytes", guessed or media.OCTET_STREAM, source=value)
    packed = values.pack(value, what=what)
    return Encoded(
        packed.encoding,
        packed.media_type,
        payload=packed.payload,
        type_name=packed.type_name,
        write=packed.write,
        suffix=packed.suffix,
    )


def decode(
    data: bytes | IO[bytes],
    encoding: str,
    *,
    as_type: Any = None,
    what: str,
    suffix: str = "",
) -> Any:
    """Turn a stored file (its bytes, or a binary stream) back into a value.

    ``as_type`` structures it into that type (cattrs and the codecs); for a copied file
    (``bytes``) it picks the codec that reads the file's format (``as_type=Atoms`` on a
    ``.traj``). ``suffix`` is the stored file's extension.
    """
    if isinstance(data, (bytes, bytearray)):
        data = io.BytesIO(data)
    return values.unpack(data, encoding, as_type=as_type, what=what, suffix=suffix)
