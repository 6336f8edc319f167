from __future__ import annotations

import attrs


@attrs.define
class State:
    steps: int = 0


@attrs.frozen
class Deps:
    engine: str


@attrs.frozen
class Structure:
    symbols: tuple[str, ...]


@attrs.frozen
class Trajectory:
    frames: int


@attrs.frozen
class Energy:
    value: float
