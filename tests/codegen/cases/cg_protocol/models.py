from __future__ import annotations

from typing import Protocol

import attrs


class HasPositions(Protocol):
    """What a reusable task needs of any workflow's state."""

    @property
    def positions(self) -> list[float]: ...


class HasEngine(Protocol):
    @property
    def engine(self) -> str: ...


@attrs.define
class State:
    positions: list[float] = attrs.field(factory=list)
    steps: int = 0


@attrs.frozen
class Deps:
    engine: str
    threads: int = 1


@attrs.frozen
class Dataset:
    values: tuple[float, ...]
