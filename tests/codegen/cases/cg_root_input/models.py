from __future__ import annotations

import attrs


@attrs.frozen
class RunConfig:
    temperature: float
    steps: int


@attrs.frozen
class Thermostat:
    target: float
