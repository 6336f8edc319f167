"""ProfileConfig: the resolved configuration a task sees as ``ctx.config``.

molexp gives no key a special meaning: a profile is a read-only mapping with a name.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from molexp._json import MAX_DEPTH, shorten_where

__all__ = ["ConfigError", "ProfileConfig"]

T = TypeVar("T")


class ConfigError(ValueError):
    """A config does not fit the class it was read as; lists every bad or missing key."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


_SCALARS = (str, int, float, bool, type(None))


def _is_date_or_time(value: object) -> bool:
    """A ``datetime``/``date``/``time`` (TOML's dates), without importing ``datetime``.

    No such value can exist unless its module is loaded, so an unloaded module means "no";
    `import molexp` stays near `import asyncio` (issue 16).
    """
    dt = sys.modules.get("datetime")
    return dt is not None and isinstance(value, (dt.datetime, dt.date, dt.time))


def _freeze(value: Any, where: str, open_: dict[int, str] | None = None) -> Any:
    """Deep-copy into read-only containers so a task cannot mutate the shared config.

    Only TOML/JSON-like values are accepted: the config is recorded with every run, so a
    value that cannot be written down (NaN, Infinity, an object, a container holding
    itself, nesting deeper than ``MAX_DEPTH``) is rejected here, naming its key path.
    """
    if isinstance(value, (Mapping, list, tuple)):
        open_ = {} if open_ is None else open_
        shown = shorten_where(where) if where else "the top"
        enclosing = open_.get(id(value))
        if enclosing is not None:
            raise TypeError(
                f"config value at {shown} is {shorten_where(enclosing) or 'the top'} itself "
                "(a cycle); JSON cannot store a value that contains itself"
            )
        if len(open_) >= MAX_DEPTH:
            raise TypeError(f"config value at {shown} nests deeper than {MAX_DEPTH} levels")
        open_[id(value)] = where
        try:
            if isinstance(value, Mapping):
                return MappingProxyType(
                    {
                        str(k): _freeze(v, f"{where}.{k}" if where else str(k), open_)
                        for k, v in value.items()
                    }
                )
            return tuple(_freeze(v, f"{where}[{i}]", open_) for i, v in enumerate(value))
        finally:
            del open_[id(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(
            f"config value at {shorten_where(where) or 'the top'} is {value!r}; "
            "JSON has no NaN/Infinity"
        )
    if not isinstance(value, _SCALARS) and not _is_date_or_time(value):
        raise TypeError(
            f"config value at {shorten_where(where) or 'the top'} is a "
            f"{type(value).__name__} ({value!r}); "
            "use TOML/JSON values: str, int, float, bool, dates, lists and tables"
        )
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _unproxy(value: Any) -> Any:
    """The frozen data with plain dicts (picklable), keeping tuples and frozensets."""
    if isinstance(value, Mapping):
        return {k: _unproxy(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_unproxy(v) for v in value)
    return value


def _restore(data: Mapping[str, Any], name: str | None) -> ProfileConfig:
    return ProfileConfig(data, name=name)


def _jsonable(value: Any) -> Any:
    """The thawed value as plain JSON: dates and times become ISO strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if _is_date_or_time(value):
        return value.isoformat()
    return value


class ProfileConfig(Mapping[str, Any]):
    """An immutable ``Mapping[str, Any]`` with a ``name`` (None when no profile was selected)."""

    __slots__ = ("_data", "_hash", "_name")

    def __init__(self, data: Mapping[str, Any] | None = None, *, name: str | None = None) -> None:
        where = f"profile {name!r}: " if name else ""
        try:
            frozen = _freeze(data if data is not None else {}, "")
        except TypeError as exc:
            raise TypeError(f"{where}{exc}") from None
        self._data: Mapping[str, Any] = frozen
        self._name = name
        self._hash: str | None = None

    @classmethod
    def coerce(cls, config: ProfileConfig | Mapping[str, Any] | None) -> ProfileConfig:
        """Accept a ProfileConfig, a plain mapping (an unnamed profile) or None (empty)."""
        if isinstance(config, ProfileConfig):
            return config
        if config is None:
            return cls()
        if not isinstance(config, Mapping):
            raise TypeError(
                f"config must be a ProfileConfig or a mapping, not {type(config).__name__}"
            )
        return cls(config)

    @property
    def name(self) -> str | None:
        return self._name

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def to_dict(self) -> dict[str, Any]:
        """A plain, mutable deep copy (lists instead of tuples), e.g. to serialise."""
        thawed: dict[str, Any] = _thaw(self._data)
        return thawed

    def as_(self, cls: type[T], *, section: str | None = None, allow_unknown: bool = False) -> T:
        """Structure the config (or its ``section`` table) into an attrs/dataclass ``cls``.

        Every missing or ill-typed field, and every key the class does not declare (a typo
        such as ``max_stpes`` would otherwise be silently ignored), is reported in one
        ``ConfigError``. ``allow_unknown=True`` ignores undeclared keys instead (a config
        whose table serves several classes).
        """
        from molexp._structure import structure_strict

        data: Any = self.to_dict()
        where = f"profile {self._name!r}" if self._name else "config"
        if section is not None:
            for part in section.split("."):
                if not isinstance(data, dict) or part not in data:
                    raise ConfigError(f"{where} has no table {section!r}", [f"missing {section}"])
                data = data[part]
            where = f"{where} [{section}]"
        return structure_strict(
            data, cls, where, ConfigError, path=section or "config", forbid_extra=not allow_unknown
        )

    def to_json(self) -> dict[str, Any]:
        """The data as plain JSON (dates as ISO strings): what runs record and hash."""
        plain: dict[str, Any] = _jsonable(self.to_dict())
        return plain

    @property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the data (the name is not part of the content)."""
        if self._hash is None:
            import hashlib  # here, not at the top: `import molexp` stays near `import asyncio`
            import json

            canonical = json.dumps(
                self.to_json(), sort_keys=True, separators=(",", ":"), allow_nan=False
            )
            self._hash = hashlib.sha256(canonical.encode()).hexdigest()
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProfileConfig):
            return self._name == other._name and self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return bool(self.to_dict() == _thaw(other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._name, self.content_hash))

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (a distributed executor ships it to workers) with its exact values.
        return (_restore, (_unproxy(self._data), self._name))

    def __repr__(self) -> str:
        return f"ProfileConfig({self.to_dict()!r}, name={self._name!r})"
