from __future__ import annotations

import attrs


@attrs.frozen
class Frame:
    """A picture frame (a different type with the same name)."""

    width: int


@attrs.frozen
class Any:
    """A user type named like typing.Any."""

    anything: str


@attrs.frozen
class TrainContext:
    """A user type named like a generated context."""

    note: str
