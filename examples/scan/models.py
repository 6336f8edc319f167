"""The values that flow between the scan's tasks (plain attrs classes)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Structure:
    """A cubic lattice of ``n_side**3`` Lennard-Jones atoms in a periodic box."""

    index: int
    density: float
    box: float
    positions: tuple[tuple[float, float, float], ...]


@attrs.frozen
class Relaxed:
    """A structure after steepest descent, with its energy per atom (units of epsilon)."""

    index: int
    density: float
    energy_per_atom: float
    steps: int


@attrs.frozen
class ScanSummary:
    """The scan: energy per atom by density, and the density of the lowest one."""

    densities: tuple[float, ...]
    energies: tuple[float, ...]
    best_density: float
