from __future__ import annotations

import attrs


def _no_names() -> list[str]:
    return []


@attrs.define
class State:
    contexts: list[str] = attrs.Factory(_no_names)
    """The class name of every actor context the runtime built (checked by the tests)."""


@attrs.frozen
class Deps:
    engine: str


@attrs.frozen
class Settings:
    steps: int
    temperature: float


@attrs.frozen
class Frame:
    step: int
    potential: float


@attrs.frozen
class Reading:
    """A thermostat reading: another message type than ``Frame``."""

    step: int
    temperature: float


@attrs.frozen
class Stats:
    frames: int
    readings: int
    mean_potential: float


@attrs.frozen
class Summary:
    text: str
