"""Pure-Python Lennard-Jones Monte Carlo: small, readable, no dependencies."""

from __future__ import annotations

import math
import random

Vec = tuple[float, float, float]


def lattice(n_side: int, box: float) -> tuple[Vec, ...]:
    """A simple cubic lattice of n_side**3 particles filling the box."""
    a = box / n_side
    return tuple(
        ((i + 0.5) * a, (j + 0.5) * a, (k + 0.5) * a)
        for i in range(n_side)
        for j in range(n_side)
        for k in range(n_side)
    )


def _pair(r2: float) -> float:
    inv6 = 1.0 / (r2 * r2 * r2)
    return 4.0 * (inv6 * inv6 - inv6)


def particle_energy(positions: list[Vec], index: int, point: Vec, box: float, rc2: float) -> float:
    """Energy of the particle ``index`` placed at ``point`` with all the others."""
    x, y, z = point
    half = 0.5 * box
    energy = 0.0
    for j, (ox, oy, oz) in enumerate(positions):
        if j == index:
            continue
        dx = x - ox
        dy = y - oy
        dz = z - oz
        # minimum image in a cubic box
        if dx > half:
            dx -= box
        elif dx < -half:
            dx += box
        if dy > half:
            dy -= box
        elif dy < -half:
            dy += box
        if dz > half:
            dz -= box
        elif dz < -half:
            dz += box
        r2 = dx * dx + dy * dy + dz * dz
        if r2 < rc2:
            energy += _pair(r2)
    return energy


def total_energy(positions: list[Vec], box: float, cutoff: float) -> float:
    rc2 = cutoff * cutoff
    return 0.5 * sum(particle_energy(positions, i, p, box, rc2) for i, p in enumerate(positions))


def sweep(
    positions: list[Vec],
    box: float,
    temperature: float,
    cutoff: float,
    step: float,
    rng: random.Random,
) -> tuple[int, float]:
    """One Metropolis sweep (N single-particle moves). Returns (accepted, energy change)."""
    rc2 = cutoff * cutoff
    beta = 1.0 / temperature
    accepted = 0
    delta_total = 0.0
    for _ in range(len(positions)):
        i = rng.randrange(len(positions))
        old = positions[i]
        new = (
            (old[0] + step * (rng.random() - 0.5)) % box,
            (old[1] + step * (rng.random() - 0.5)) % box,
            (old[2] + step * (rng.random() - 0.5)) % box,
        )
        delta = particle_energy(positions, i, new, box, rc2) - particle_energy(
            positions, i, old, box, rc2
        )
        if delta <= 0.0 or rng.random() < math.exp(-beta * delta):
            positions[i] = new
            accepted += 1
            delta_total += delta
    return accepted, delta_total


def rdf(
    frames: list[tuple[Vec, ...]], box: float, bins: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """g(r) up to half the box, averaged over frames."""
    r_max = 0.5 * box
    width = r_max / bins
    counts = [0] * bins
    n = len(frames[0])
    for frame in frames:
        for i in range(n):
            xi, yi, zi = frame[i]
            for j in range(i + 1, n):
                xj, yj, zj = frame[j]
                dx = (xi - xj + 0.5 * box) % box - 0.5 * box
                dy = (yi - yj + 0.5 * box) % box - 0.5 * box
                dz = (zi - zj + 0.5 * box) % box - 0.5 * box
                r = math.sqrt(dx * dx + dy * dy + dz * dz)
                if r < r_max:
                    counts[int(r / width)] += 2
    density = n / box**3
    centres, g = [], []
    for b in range(bins):
        shell = 4.0 / 3.0 * math.pi * (((b + 1) * width) ** 3 - (b * width) ** 3)
        centres.append(round((b + 0.5) * width, 4))
        g.append(round(counts[b] / (len(frames) * n * density * shell), 4))
    return tuple(centres), tuple(g)
