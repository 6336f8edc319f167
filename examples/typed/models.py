"""Plain attrs types of the typed example: no molexp import needed."""

from __future__ import annotations

from typing import Protocol

import attrs


@attrs.frozen
class ClusterSpec:
    """The workflow input: which Lennard-Jones cluster to build."""

    atoms: int
    spacing: float = 1.12


@attrs.define
class State:
    """Shared mutable state of one execution."""

    temperature: float = 0.1
    energy_evaluations: int = 0


@attrs.frozen
class Deps:
    """Injected at execute time."""

    engine: str
    max_steps: int = 200


@attrs.frozen
class Structure:
    positions: tuple[tuple[float, ...], ...]


@attrs.frozen
class Minimized:
    structure: Structure
    energy: float
    steps: int


@attrs.frozen
class Trajectory:
    energies: tuple[float, ...]
    temperature: float


@attrs.frozen
class Report:
    minimum_energy: float
    mean_energy: float
    engine: str


class HasTemperature(Protocol):
    """What a reusable task asks of any workflow's state."""

    @property
    def temperature(self) -> float: ...
