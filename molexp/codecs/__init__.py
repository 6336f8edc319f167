"""Store what scientists compute: the public codec registry.

A codec tells molexp how to store a type (and its subclasses) and read it back:
``JsonCodec`` (the value becomes JSON, stored inline) or ``FileCodec`` (the value becomes
a file of its own format: ``.npy`` for numpy arrays, ASE JSON for ``Atoms``). numpy and
ASE are built in and imported only when such a value is met. Artifacts, checkpoints,
scope data assets and (later) stored task outputs all go through ``pack``/``unpack``;
the run's result map and params take JSON summaries only (``to_json``).

See docs/codecs.md ("Data and codecs").
"""

from __future__ import annotations

from molexp.codecs.media import media_type_for
from molexp.codecs.registry import (
    Codec,
    CodecError,
    FileCodec,
    JsonCodec,
    codec_named,
    lookup,
    register,
    registered,
    unregister,
)
from molexp.codecs.values import Packed, pack, structure, to_json, unpack

__all__ = [
    "Codec",
    "CodecError",
    "FileCodec",
    "JsonCodec",
    "Packed",
    "codec_named",
    "lookup",
    "media_type_for",
    "pack",
    "register",
    "registered",
    "structure",
    "to_json",
    "unpack",
    "unregister",
]
