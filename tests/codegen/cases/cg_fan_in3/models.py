from __future__ import annotations

from dataclasses import dataclass

import attrs


@attrs.define
class State:
    temperature: float = 300.0


@dataclass(frozen=True)
class Frame:
    step: int
    positions: tuple[tuple[float, float, float], ...]


@attrs.frozen
class Summary:
    energy: float
    frames: int
    label: str
