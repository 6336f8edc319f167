from __future__ import annotations

from typing import NotRequired

import attrs
from typing_extensions import ReadOnly, TypedDict


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
class Special(Relaxed):
    tag: str = "x"


class Pair(TypedDict):
    first: ReadOnly[Relaxed]
    second: NotRequired[Relaxed]
