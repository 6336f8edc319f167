from __future__ import annotations

from typing import Generic, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class Model:
    weights: tuple[float, ...]


@attrs.frozen
class Box(Generic[T]):
    item: T
