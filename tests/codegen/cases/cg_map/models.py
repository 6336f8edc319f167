from __future__ import annotations

import attrs


@attrs.define
class State:
    steps: int = 0


@attrs.frozen
class Structure:
    n: int


@attrs.frozen
class Relaxed:
    energy: float


@attrs.frozen
class Polished:
    energy: float
    note: str
