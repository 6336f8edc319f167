"""Every kind of type the generator must write."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType, Protocol, TypedDict

import attrs

AtomId = NewType("AtomId", int)


class Phase(enum.Enum):
    SOLID = "solid"
    LIQUID = "liquid"


@dataclass
class Cell:
    lengths: tuple[float, float, float]


@attrs.frozen
class Lattice:
    @attrs.frozen
    class Site:
        x: float

    sites: tuple[Site, ...]


class Spectrum(TypedDict):
    frequencies: list[float]
    intensities: list[float]


class Writer(Protocol):
    def write(self, text: str, /) -> int: ...
