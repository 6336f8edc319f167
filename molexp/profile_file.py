"""Profile files: named configurations resolved into a ``ProfileConfig``.

A profile file is ``molexp.toml``::

    [defaults]
    md = { steps = 1000, dt = 0.005 }

    [profiles.quick]
    md = { steps = 100 }

    [profiles.production]
    extends = "quick"
    md = { steps = 100000 }

or the same tables under ``[tool.molexp]`` in ``pyproject.toml``. Resolving a profile
deep-merges, in order: ``[defaults]``, each profile of its ``extends`` chain from the
farthest ancestor down, the profile itself, then ``-s key.sub=value`` overrides.
Tables merge key by key; any other value (lists included) replaces the earlier one.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from molexp.profile import ProfileConfig

__all__ = [
    "ProfileError",
    "ProfileFile",
    "deep_merge",
    "find_profile_file",
    "parse_override",
    "resolve_profile",
]

PROFILE_FILE = "molexp.toml"


class ProfileError(ValueError):
    """A profile file, profile name or override is invalid; the message names which."""


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``: tables merge recursively, other values replace."""
    merged: dict[str, Any] = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"md.steps=100"`` -> (["md", "steps"], 100). Values are TOML literals, else strings."""
    key, sep, raw = text.partition("=")
    path = [part.strip() for part in key.split(".")]
    if not sep or not all(path):
        raise ProfileError(f"override {text!r} must look like key.sub=value")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    bad = _non_finite(value, ".".join(path))
    if bad is not None:
        hint = (
            f" (for the text, quote it: {key.strip()}='\"{raw}\"')"
            if isinstance(value, float)
            else ""
        )
        raise ProfileError(
            f"override {text!r}: {bad}; configs and params are recorded as JSON, which has "
            f"no NaN or Infinity{hint}"
        )
    return path, value


def _non_finite(value: Any, where: str) -> str | None:
    """``"md.dt is nan"`` for the first NaN/Infinity in a TOML value, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value!r}"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _non_finite(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _non_finite(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def _apply_override(data: dict[str, Any], path: list[str], value: Any, text: str) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(path):
        nested = {part: nested}
    where: Mapping[str, Any] = data
    for depth, part in enumerate(path[:-1]):
        existing = where.get(part)
        if existing is not None and not isinstance(existing, Mapping):
            dotted = ".".join(path[: depth + 1])
            raise ProfileError(
                f"override {text!r}: {dotted!r} is a {type(existing).__name__}, not a table"
            )
        if existing is None:
            break
        where = existing
    return deep_merge(data, nested)


class ProfileFile:
    """A parsed profile file: its ``[defaults]`` and ``[profiles.*]`` tables."""

    def __init__(self, path: Path, defaults: Mapping[str, Any], profiles: Mapping[str, Any]):
        self.path = path
        self.defaults = dict(defaults)
        self.profiles = dict(profiles)
        self.workspace: Path | None = None
        """``workspace = "DIR"``: where runs go (relative to the file's folder)."""

    @classmethod
    def load(cls, path: str | Path) -> ProfileFile:
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProfileError(f"profile file {path} does not exist") from None
        except UnicodeDecodeError as exc:
            raise ProfileError(f"profile file {path} is not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise ProfileError(f"profile file {path}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"profile file {path} is not valid TOML: {exc}") from exc
        if path.name == "pyproject.toml":
            document = document.get("tool", {}).get("molexp", {})
        unknown = sorted(set(document) - {"defaults", "profiles", "workspace"})
        if unknown:
            raise ProfileError(
                f"profile file {path}: unknown top-level table(s) {', '.join(unknown)}; "
                'expected [defaults] and [profiles.<name>] (and workspace = "DIR")'
            )
        workspace = document.get("workspace")
        if workspace is not None and (not isinstance(workspace, str) or not workspace):
            raise ProfileError(
                f"profile file {path}: workspace must be a folder path (a string), "
                f"not {workspace!r}"
            )
        defaults = document.get("defaults", {})
        profiles = document.get("profiles", {})
        if not isinstance(defaults, Mapping):
            raise ProfileError(f"profile file {path}: [defaults] must be a table")
        if not isinstance(profiles, Mapping) or not all(
            isinstance(p, Mapping) for p in profiles.values()
        ):
            raise ProfileError(f"profile file {path}: each profiles.<name> must be a table")
        tables = [("[defaults]", defaults)]
        tables += [(f"[profiles.{name}]", table) for name, table in profiles.items()]
        for title, table in tables:
            bad = _non_finite(table, "")
            if bad is not None:
                raise ProfileError(
                    f"profile file {path}: {title} {bad}; configs are recorded as JSON, "
                    "which has no NaN or Infinity"
                )
        loaded = cls(path, defaults, profiles)
        if workspace is not None:  # relative to the file's folder, wherever molexp runs
            loaded.workspace = (path.parent / Path(workspace).expanduser()).resolve()
        return loaded

    @property
    def names(self) -> list[str]:
        return sorted(self.profiles)

    def chain(self, name: str) -> list[str]:
        """``name`` and its ``extends`` ancestors, farthest ancestor first."""
        chain: list[str] = []
        current: str | None = name
        while current is not None:
            if current in chain:
                cycle = " -> ".join([*chain, current])
                raise ProfileError(f"profile file {self.path}: extends cycle {cycle}")
            if current not in self.profiles:
                known = ", ".join(self.names) or "none"
                via = f" (extended by profile {chain[-1]!r})" if chain else ""
                raise ProfileError(
                    f"profile file {self.path}: unknown profile {current!r}{via}; profiles: {known}"
                )
            chain.append(current)
            parent = self.profiles[current].get("extends")
            if parent is not None and not isinstance(parent, str):
                raise ProfileError(
                    f"profile file {self.path}: profile {current!r} has extends = {parent!r}; "
                    "it must be a profile name"
                )
            current = parent
        return list(reversed(chain))

    def resolve(self, name: str | None = None, overrides: Iterable[str] = ()) -> ProfileConfig:
        data: dict[str, Any] = dict(self.defaults)
        if name is not None:
            for link in self.chain(name):
                table = {k: v for k, v in self.profiles[link].items() if k != "extends"}
                data = deep_merge(data, table)
        try:
            return ProfileConfig(_with_overrides(data, overrides), name=name)
        except TypeError as exc:  # checked above; the config's own check is the last word
            raise ProfileError(f"profile file {self.path}: {exc}") from None


def _with_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        data = _apply_override(data, path, value, text)
    return data


def find_profile_file(start: str | Path) -> Path | None:
    """The nearest ``molexp.toml`` (or pyproject.toml with [tool.molexp]) from ``start`` up."""
    here = Path(start).resolve()
    folder = here if here.is_dir() else here.parent
    for candidate_dir in (folder, *folder.parents):
        candidate = candidate_dir / PROFILE_FILE
        if candidate.is_file():
            return candidate
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file():
            try:
                tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
            except tomllib.TOMLDecodeError:
                continue
            if "molexp" in tool:
                return pyproject
    return None


def resolve_profile(
    file: str | Path | None,
    name: str | None = None,
    overrides: Iterable[str] = (),
) -> ProfileConfig:
    """Resolve ``name`` from ``file`` (None: no file, only overrides apply)."""
    if file is None:
        if name is not None:
            raise ProfileError(
                f"profile {name!r} was requested but no {PROFILE_FILE} "
                "(or [tool.molexp] in pyproject.toml) was found"
            )
        try:
            return ProfileConfig(_with_overrides({}, overrides))
        except TypeError as exc:
            raise ProfileError(str(exc)) from None
    return ProfileFile.load(file).resolve(name, overrides)
