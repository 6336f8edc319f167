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

from molexp.workspace.errors import AssetNameError

__all__ = [
    "RESERVED_ASSET_ROOT",
    "check_asset_name",
    "check_scope_name",
    "new_run_id",
    "path_conflict",
]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
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


def check_asset_name(name: object, *, what: str = "asset") -> str:
    """Validate a relative asset name and return it (``"a/b.json"``); raise AssetNameError.

    Rejected: non-str, empty, absolute paths, ``..`` or ``.`` components, empty components
    (``a//b``, trailing ``/``), backslashes, NUL and other control characters, components
    longer than 255 bytes, and names under the reserved ``.versions`` folder.
    """
    if not isinstance(name, str):
        raise AssetNameError(f"{what} name must be a str, not {type(name).__name__} ({name!r})")
    if not name:
        raise AssetNameError(f"{what} name must not be empty")
    if "\x00" in name:
        raise AssetNameError(f"{what} name {name!r} contains a NUL character")
    if _CONTROL.search(name):
        raise AssetNameError(f"{what} name {name!r} contains a control character")
    if "\\" in name:
        raise AssetNameError(f"{what} name {name!r} contains a backslash; use '/' for sub-folders")
    if name.startswith("/") or os.path.isabs(name):
        raise AssetNameError(f"{what} name {name!r} is absolute; names are relative to the run")
    parts = name.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            shown = {"": "an empty component", ".": "a '.' component", "..": "'..'"}[part]
            raise AssetNameError(
                f"{what} name {name!r} contains {shown}; it must stay inside its folder"
            )
        if len(part.encode()) > _MAX_COMPONENT_BYTES:
            raise AssetNameError(f"{what} name {name!r} has a component longer than 255 bytes")
    if len(name.encode()) > _MAX_NAME_BYTES:
        raise AssetNameError(f"{what} name {name[:40]!r}... is longer than {_MAX_NAME_BYTES} bytes")
    if parts[0] == RESERVED_ASSET_ROOT:
        raise AssetNameError(
            f"{what} name {name!r} uses the reserved folder {RESERVED_ASSET_ROOT!r}"
        )
    return name


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
