"""The data that flows between the tasks: plain attrs classes, no molexp import."""

from __future__ import annotations

import attrs


@attrs.define
class State:
    """Shared mutable state of one execution: bookkeeping the tasks update."""

    moves_attempted: int = 0
    moves_accepted: int = 0


@attrs.frozen
class Deps:
    """Injected at execute time: here only the random seed (an engine client, paths...)."""

    seed: int


@attrs.frozen
class System:
    """Particle positions in a cubic periodic box (reduced LJ units)."""

    positions: tuple[tuple[float, float, float], ...]
    box: float
    temperature: float
    cutoff: float = 2.5

    @property
    def n(self) -> int:
        return len(self.positions)

    @property
    def density(self) -> float:
        return self.n / self.box**3


@attrs.frozen
class Trajectory:
    """Production samples: energies per sweep and a few stored configurations."""

    system: System
    energies: tuple[float, ...]
    frames: tuple[tuple[tuple[float, float, float], ...], ...]
    acceptance: float


@attrs.frozen
class EnergyStats:
    mean_per_particle: float
    stderr_per_particle: float
    samples: int


@attrs.frozen
class Rdf:
    """Radial distribution function g(r) on a grid of bin centres."""

    r: tuple[float, ...]
    g: tuple[float, ...]

    @property
    def first_peak(self) -> float:
        return self.r[max(range(len(self.g)), key=self.g.__getitem__)]


@attrs.frozen
class Report:
    density: float
    temperature: float
    energy_per_particle: float
    energy_stderr: float
    rdf_first_peak: float
    acceptance: float
