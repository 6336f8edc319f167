"""The tasks. Each names its generated context once, as ``Task[XContext, Output]``."""

from __future__ import annotations

import math
import random

from molexp import Task

from . import physics
from .models import EnergyStats, Rdf, Report, System, Trajectory
from .workflow_contexts import (
    BuildSystemContext,
    EnergyStatsContext,
    EquilibrateContext,
    ProductionContext,
    RdfContext,
    ReportContext,
)


class BuildSystem(Task[BuildSystemContext, System]):
    """A simple cubic lattice at the configured density and temperature."""

    async def execute(self, ctx: BuildSystemContext) -> System:
        n_side = int(ctx.config.get("n_side", 4))
        density = float(ctx.config.get("density", 0.8))
        box = (n_side**3 / density) ** (1 / 3)
        system = System(
            positions=physics.lattice(n_side, box),
            box=box,
            temperature=float(ctx.config.get("temperature", 1.5)),
        )
        if ctx.artifact is not None:
            ctx.artifact.save("system.json", system)
        return system


class Equilibrate(Task[EquilibrateContext, System]):
    """Metropolis sweeps from the lattice, tuning the step to ~40% acceptance."""

    async def execute(self, ctx: EquilibrateContext) -> System:
        system = ctx.inputs
        sweeps = int(ctx.config.get("equilibration", {}).get("sweeps", 200))
        rng = random.Random(ctx.deps.seed)
        positions = list(system.positions)
        step = 0.2
        log = ctx.log("equilibration")
        for n in range(1, sweeps + 1):
            accepted, _ = physics.sweep(
                positions, system.box, system.temperature, system.cutoff, step, rng
            )
            ctx.state.moves_attempted += system.n
            ctx.state.moves_accepted += accepted
            rate = accepted / system.n
            step *= 1.05 if rate > 0.4 else 0.95
            if n % 50 == 0 or n == sweeps:
                energy = physics.total_energy(positions, system.box, system.cutoff) / system.n
                if log is not None:
                    log.append(
                        f"sweep {n} energy/N {energy:.4f} acceptance {rate:.2f} step {step:.3f}"
                    )
                ctx.checkpoint(
                    "equilibration", data={"sweep": n, "step": step, "positions": positions}
                )
        return System(tuple(positions), system.box, system.temperature, system.cutoff)


class Production(Task[ProductionContext, Trajectory]):
    """Sample energies every sweep and store a configuration every 10 sweeps."""

    async def execute(self, ctx: ProductionContext) -> Trajectory:
        system = ctx.inputs
        sweeps = int(ctx.config.get("production", {}).get("sweeps", 400))
        rng = random.Random(ctx.deps.seed + 1)
        positions = list(system.positions)
        energy = physics.total_energy(positions, system.box, system.cutoff)
        energies: list[float] = []
        frames: list[tuple[tuple[float, float, float], ...]] = []
        accepted_total = 0
        log = ctx.log("production")
        for n in range(1, sweeps + 1):
            accepted, delta = physics.sweep(
                positions, system.box, system.temperature, system.cutoff, 0.3, rng
            )
            ctx.state.moves_attempted += system.n
            ctx.state.moves_accepted += accepted
            accepted_total += accepted
            energy += delta
            energies.append(energy / system.n)
            if n % 10 == 0:
                frames.append(tuple(positions))
                if log is not None:
                    log.append(f"sweep {n} energy/N {energy / system.n:.4f}")
        if ctx.artifact is not None:
            ctx.artifact.save("energies.json", energies)
        return Trajectory(
            system=System(tuple(positions), system.box, system.temperature, system.cutoff),
            energies=tuple(energies),
            frames=tuple(frames),
            acceptance=accepted_total / (sweeps * system.n),
        )


class EnergyStatsTask(Task[EnergyStatsContext, EnergyStats]):
    """Mean energy per particle with a block-averaged standard error."""

    async def execute(self, ctx: EnergyStatsContext) -> EnergyStats:
        energies = ctx.inputs.energies
        blocks = 10
        size = max(1, len(energies) // blocks)
        means = [sum(energies[i : i + size]) / size for i in range(0, size * blocks, size)]
        mean = sum(means) / len(means)
        var = sum((m - mean) ** 2 for m in means) / max(1, len(means) - 1)
        return EnergyStats(mean, math.sqrt(var / len(means)), len(energies))


class RdfTask(Task[RdfContext, Rdf]):
    """g(r) over the stored frames, also saved as a CSV artifact."""

    async def execute(self, ctx: RdfContext) -> Rdf:
        trajectory = ctx.inputs
        r, g = physics.rdf(
            list(trajectory.frames), trajectory.system.box, bins=int(ctx.config.get("rdf_bins", 40))
        )
        if ctx.artifact is not None:
            ctx.artifact.save(
                "rdf.csv", "r,g\n" + "".join(f"{a},{b}\n" for a, b in zip(r, g, strict=True))
            )
        return Rdf(r, g)


class MakeReport(Task[ReportContext, Report]):
    """Fan-in: the energy statistics, g(r) and the trajectory, keyed by name."""

    async def execute(self, ctx: ReportContext) -> Report:
        stats = ctx.inputs["energy"]
        rdf = ctx.inputs["rdf"]
        trajectory = ctx.inputs["trajectory"]
        report = Report(
            density=round(trajectory.system.density, 4),
            temperature=trajectory.system.temperature,
            energy_per_particle=round(stats.mean_per_particle, 4),
            energy_stderr=round(stats.stderr_per_particle, 4),
            rdf_first_peak=rdf.first_peak,
            acceptance=round(trajectory.acceptance, 3),
        )
        ctx.set_result("energy_per_particle", report.energy_per_particle)
        ctx.set_result("energy_stderr", report.energy_stderr)
        ctx.set_result("rdf_first_peak", report.rdf_first_peak)
        if ctx.artifact is not None:
            ctx.artifact.save("report.json", report)
        return report
