"""The JSON policy for everything molexp writes: strict, acyclic, of bounded depth.

Payloads (artifacts, checkpoints, results, params) and profiles are checked value by value
before anything is written, so an error can name where the bad value sits
(``value['a'][3]``). The final encode passes ``allow_nan=False`` as a second guard, so a
NaN that slipped past a check is still an error, never a non-standard ``NaN`` token.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "dumps", "shorten_where"]

MAX_DEPTH = 200
"""Most levels of nested containers (and attrs/dataclass instances) a stored value may have.

Deeper data is almost always a bug (a value that contains itself, a linked list); it would
also overflow Python's own recursion limit in ``json`` when read back.
"""


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON text: ValueError on NaN/Infinity, compact unless ``indent`` is given."""
    import json  # here, not at the top: `import molexp` stays near `import asyncio`

    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(
        value,
        ensure_ascii=False,
        allow_nan=False,
        indent=indent,
        sort_keys=sort_keys,
        separators=separators,
    )


def shorten_where(where: str, limit: int = 80) -> str:
    """``where`` cut in the middle when long (the path to a deeply nested value)."""
    if len(where) <= limit:
        return where
    head = limit * 2 // 3
    return f"{where[:head]}…{where[-(limit - head - 1) :]}"
