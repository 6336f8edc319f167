"""Golden case of molexp gen: the data types, apart from the task modules."""

from __future__ import annotations

import attrs


@attrs.frozen
class Grid:
    points: tuple[float, ...]
