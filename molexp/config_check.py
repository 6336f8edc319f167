"""Checking config overrides (``-s key=value``, sweep values) before any run starts.

The declared config is what the profile file says (``[defaults]`` and every profile): a key
it does not know is rejected with the nearest known key, and a value whose type differs
from the declared one (``md.steps = 1000`` overridden with ``"abc"``) is rejected naming
the key and the expected type. A config with nothing declared (no profile file) accepts
every key: there is nothing to check against.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from molexp.profile import ConfigError, ProfileConfig

__all__ = [
    "OverrideError",
    "check_config_class",
    "check_override",
    "check_overrides",
    "class_paths",
    "declared_paths",
    "declared_tables",
    "type_name",
]

_FROM_CLASS = object()
"""The declared value of a key known from a config class only (any value fits here; the
class's own check, ``check_config_class``, decides)."""


class OverrideError(ValueError):
    """An override names an unknown key or has the wrong type; the message says which."""


def declared_paths(*tables: Mapping[str, Any]) -> dict[str, Any]:
    """Every dotted key path of ``tables`` (tables and leaves) -> its value in the first
    table that declares it."""
    found: dict[str, Any] = {}

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        for key, value in table.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.setdefault(path, value)
            if isinstance(value, Mapping):
                walk(value, path)

    for table in tables:
        walk(table, "")
    return found


def type_name(value: Any) -> str:
    """The TOML-ish name of a declared value's type: int, float, bool, str, list, table."""
    if isinstance(value, Mapping):
        return "table"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, bool):
        return "bool"
    return type(value).__name__


def _fits(declared: Any, value: Any) -> bool:
    if isinstance(declared, bool):
        return isinstance(value, bool)
    if isinstance(declared, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(declared, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(declared, str):
        return isinstance(value, str)
    if isinstance(declared, Mapping):
        return isinstance(value, Mapping)
    if isinstance(declared, (list, tuple)):
        return isinstance(value, (list, tuple))
    if isinstance(declared, (_dt.datetime, _dt.date, _dt.time)):
        return isinstance(value, type(declared))
    return True


def check_override(
    key: str, value: Any, declared: Mapping[str, Any], *, what: str = "-s", source: str = ""
) -> None:
    """Raise ``OverrideError`` when ``key`` (dotted) is not in ``declared`` (from
    ``declared_paths``) or ``value`` does not fit the declared value's type.

    Nothing is checked when ``declared`` is empty. A key below a declared leaf that is not
    a table, or below an undeclared table, is unknown. ``source`` names where the declared
    keys come from (``molexp.toml``) for the message.
    """
    if not declared:
        return
    origin = f" in {source}" if source else ""
    if key not in declared:
        parent = key.rpartition(".")[0]
        if parent and parent in declared and not isinstance(declared[parent], Mapping):
            raise OverrideError(
                f"{what} {key}: {parent!r} is a {type_name(declared[parent])}{origin}, not a table"
            )
        raise OverrideError(f"{what} {key}: unknown config key{origin}{_nearest(key, declared)}")
    expected = declared[key]
    if not _fits(expected, value):
        raise OverrideError(
            f"{what} {key}={_shown(value)}: expected {type_name(expected)} (declared{origin} as "
            f"{_shown(expected)}), got {type_name(value)}"
        )


def _nearest(key: str, declared: Iterable[str]) -> str:
    names = sorted(declared)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    leaf = key.rpartition(".")[2]
    by_leaf = [n for n in names if n.rpartition(".")[2] == leaf]
    if by_leaf:
        return f"; did you mean {by_leaf[0]!r}?"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"; known keys: {shown}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def class_paths(cls: type[Any], prefix: str = "") -> dict[str, Any]:
    """The dotted key paths an attrs class or dataclass declares (nested ones included)."""
    if attrs.has(cls):
        names = [field.name for field in attrs.fields(cls)]
    elif dataclasses.is_dataclass(cls):
        names = [field.name for field in dataclasses.fields(cls)]
    else:
        return {}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = {}
    found: dict[str, Any] = {}
    for name in names:
        path = f"{prefix}.{name}" if prefix else name
        found[path] = _FROM_CLASS
        inner = hints.get(name)
        if isinstance(inner, type):
            found.update(class_paths(inner, path))
    return found


def declared_tables(profile_path: Path | None) -> list[Mapping[str, Any]]:
    """The tables of a profile file (``[defaults]``, then each profile), or none."""
    from molexp.profile_file import ProfileFile

    if profile_path is None:
        return []
    loaded = ProfileFile.load(profile_path)
    profiles = [{k: v for k, v in p.items() if k != "extends"} for p in loaded.profiles.values()]
    return [loaded.defaults, *profiles]


def shown_path(path: Path) -> str:
    """``path`` relative to here when it is below here, else as given."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def check_overrides(
    overrides: Iterable[str],
    profile_path: Path | None,
    config_type: type[Any] | None = None,
    *,
    what: str = "-s",
) -> None:
    """Check ``-s key=value`` texts against the profile file's keys and types and the
    config class's keys (``OverrideError`` naming the key and the nearest known one)."""
    from molexp.profile_file import parse_override

    known = declared_paths(*declared_tables(profile_path))
    sources = [shown_path(profile_path)] if profile_path is not None else []
    if config_type is not None:
        for key, value in class_paths(config_type).items():
            known.setdefault(key, value)
        sources.append(config_type.__name__)
    for text in overrides:
        path, value = parse_override(text)
        check_override(".".join(path), value, known, what=what, source=" or ".join(sources))


def check_config_class(config: ProfileConfig, config_type: type[Any] | None) -> None:
    """Raise ``OverrideError`` (one line, every problem) when ``config`` does not fit the
    workflow's declared config class."""
    if config_type is None:
        return
    try:
        config.as_(config_type)
    except ConfigError as exc:
        where = f"profile {config.name!r}" if config.name else "config"
        raise OverrideError(
            f"{where} does not fit {config_type.__name__}: {'; '.join(exc.problems)}"
        ) from None
