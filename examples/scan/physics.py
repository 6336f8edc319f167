"""Lennard-Jones energy and forces with minimum-image periodic boundaries (pure Python)."""

from __future__ import annotations

Vec = tuple[float, float, float]


def lattice(n_side: int, box: float, jitter: float = 0.0) -> tuple[Vec, ...]:
    """``n_side**3`` sites of a simple cubic lattice filling ``box``; ``jitter`` displaces
    every site deterministically (so the lattice is not already a stationary point)."""
    a = box / n_side
    sites = []
    for i in range(n_side):
        for j in range(n_side):
            for k in range(n_side):
                d = jitter * (((i * 7 + j * 3 + k) % 5) / 5 - 0.4)
                sites.append(((i + 0.5) * a + d, (j + 0.5) * a - d, (k + 0.5) * a + d / 2))
    return tuple(sites)


def energy_and_forces(
    positions: list[Vec], box: float, cutoff: float = 2.5
) -> tuple[float, list[Vec]]:
    """Total energy and per-atom forces (truncated, unshifted LJ)."""
    n = len(positions)
    forces = [[0.0, 0.0, 0.0] for _ in range(n)]
    energy = 0.0
    cut2 = cutoff * cutoff
    for i in range(n - 1):
        xi, yi, zi = positions[i]
        for j in range(i + 1, n):
            xj, yj, zj = positions[j]
            dx = xi - xj
            dy = yi - yj
            dz = zi - zj
            dx -= box * round(dx / box)
            dy -= box * round(dy / box)
            dz -= box * round(dz / box)
            r2 = dx * dx + dy * dy + dz * dz
            if r2 >= cut2:
                continue
            inv6 = 1.0 / (r2 * r2 * r2)
            energy += 4.0 * (inv6 * inv6 - inv6)
            scale = 24.0 * (2.0 * inv6 * inv6 - inv6) / r2
            fi, fj = forces[i], forces[j]
            fi[0] += scale * dx
            fi[1] += scale * dy
            fi[2] += scale * dz
            fj[0] -= scale * dx
            fj[1] -= scale * dy
            fj[2] -= scale * dz
    return energy, [(f[0], f[1], f[2]) for f in forces]


def steepest_descent(
    positions: tuple[Vec, ...], box: float, steps: int, step: float = 0.01
) -> tuple[tuple[Vec, ...], float, int]:
    """Move atoms along the forces (capped moves, adaptive step) for ``steps`` steps or
    until the largest force is small; returns (positions, energy, steps taken)."""
    current = list(positions)
    energy, forces = energy_and_forces(current, box)
    for taken in range(1, steps + 1):
        biggest = max(max(abs(c) for c in f) for f in forces)
        if biggest < 1e-3:
            return tuple(current), energy, taken - 1
        move = min(step, 0.1 / biggest)
        trial = [
            ((x + move * fx) % box, (y + move * fy) % box, (z + move * fz) % box)
            for (x, y, z), (fx, fy, fz) in zip(current, forces, strict=True)
        ]
        trial_energy, trial_forces = energy_and_forces(trial, box)
        if trial_energy < energy:
            current, energy, forces = trial, trial_energy, trial_forces
            step *= 1.2
        else:
            step *= 0.5
    return tuple(current), energy, steps
