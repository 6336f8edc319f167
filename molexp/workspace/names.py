"""Validation of the names users give to projects, experiments, runs and assets.

Scope names (project, experiment, run id) become one folder each, so they are a single
portable path component. Asset names are relative paths that may contain sub-folders but can
never leave the folder they are stored in.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable

from molexp.workspace.errors import AssetNameError

__all__ = [
    "RESERVED_ASSET_ROOT",
    "check_asset_name",
    "check_relative_path",
    "check_scope_name",
    "check_tags",
    "is_scope_name",
    "new_run_id",
    "path_conflict",
]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Unicode format characters that change how a name reads without being seen: bidi embeddings,
# overrides and isolates, zero-width (non-)joiners and spaces, the word joiner, the BOM.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SCOPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
RESERVED_ASSET_ROOT = ".versions"
"""First path component reserved for the immutable versions kept next to the latest view."""
_MAX_COMPONENT_BYTES = 255
_MAX_NAME_BYTES = 1024


def check_scope_name(kind: str, name: object) -> str:
    """Return ``name`` if it is a valid ``kind`` name (one folder name), else raise ValueError."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a str, not {type(name).__name__} ({name!r})")
    if not _SCOPE_NAME.fullmatch(name):
        raise ValueError(
            f"invalid {kind} name {name!r}: use 1-128 characters from letters, digits and "
            "'._+-', starting with a letter or digit (it names a folder)"
        )
    return name


def is_scope_name(name: str) -> bool:
    """Whether ``name`` is a valid project, experiment or run folder name."""
    return _SCOPE_NAME.fullmatch(name) is not None


def check_asset_name(name: object, *, what: str = "asset") -> str:
    """Validate a relative asset name and return it (``"a/b.json"``); raise AssetNameError.

    Rejected: non-str, empty, absolute paths, ``..`` or ``.`` components, empty components
    (``a//b``, trailing ``/``), backslashes, NUL and other control characters, invisible
    format characters (right-to-left overrides, zero-width spaces), components longer than
    255 bytes, and names under the reserved ``.versions`` folder.
    """
    name = check_relative_path(name, what=f"{what} name")
    if name.split("/", 1)[0] == RESERVED_ASSET_ROOT:
        raise AssetNameError(
            f"{what} name {name!r} uses the reserved folder {RESERVED_ASSET_ROOT!r}"
        )
    return name


def check_relative_path(path: object, *, what: str) -> str:
    """``path`` if it is a relative path that stays inside its folder, else AssetNameError.

    The rule behind every asset name, and the check every path read from disk (manifest
    records, catalog rows, staged records of workers) passes before it is opened.
    """
    if not isinstance(path, str):
        raise AssetNameError(f"{what} must be a str, not {type(path).__name__} ({path!r})")
    if not path:
        raise AssetNameError(f"{what} must not be empty")
    if "\x00" in path:
        raise AssetNameError(f"{what} {path!r} contains a NUL character")
    if _CONTROL.search(path):
        raise AssetNameError(f"{what} {path!r} contains a control character")
    if _INVISIBLE.search(path):
        raise AssetNameError(
            f"{what} {path!r} contains an invisible formatting character (a direction "
            "override or a zero-width character) that would hide what the name says"
        )
    if "\\" in path:
        raise AssetNameError(f"{what} {path!r} contains a backslash; use '/' for sub-folders")
    if path.startswith("/") or os.path.isabs(path):
        raise AssetNameError(f"{what} {path!r} is absolute; names are relative to their folder")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            shown = {"": "an empty component", ".": "a '.' component", "..": "'..'"}[part]
            raise AssetNameError(
                f"{what} {path!r} contains {shown}; it must stay inside its folder"
            )
        if len(part.encode()) > _MAX_COMPONENT_BYTES:
            raise AssetNameError(f"{what} {path!r} has a component longer than 255 bytes")
    if len(path.encode()) > _MAX_NAME_BYTES:
        raise AssetNameError(f"{what} {path[:40]!r}... is longer than {_MAX_NAME_BYTES} bytes")
    return path


def path_conflict(name: str, names: set[str], folders: set[str]) -> str | None:
    """The existing name that makes ``name`` impossible as a file path, or None.

    ``names`` are the names already stored, ``folders`` every parent folder of them: ``a``
    cannot be stored once ``a/b`` exists (``a`` is a folder) and vice versa.
    """
    if name in folders:
        return next((n for n in sorted(names) if n.startswith(name + "/")), name + "/...")
    parts = name.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if parent in names:
            return parent
    return None


def parent_folders(name: str) -> list[str]:
    """``"a/b/c"`` -> ``["a", "a/b"]``."""
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def new_run_id() -> str:
    """A sortable, unique run id: ``20250131-142501-3f9a1c`` (UTC time + 24 random bits)."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def check_tags(tags: Iterable[str], what: str) -> list[str]:
    """``tags`` as a list of non-empty str, else TypeError naming ``what``."""
    if isinstance(tags, str):
        raise TypeError(f"{what}: tags must be an iterable of str, not a single str ({tags!r})")
    out = []
    for tag in tags:
        if not isinstance(tag, str) or not tag:
            raise TypeError(f"{what}: every tag must be a non-empty str, got {tag!r}")
        out.append(tag)
    return out
