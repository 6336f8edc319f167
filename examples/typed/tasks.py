"""Tasks of the typed example.

``Minimize``, ``Sample`` and ``Analyze`` are written against the contexts generated from
the graph (``workflow_contexts.py``); ``BuildCluster`` names its context explicitly;
``Anneal`` is reusable: it asks only for a state with a ``temperature``.
"""

from __future__ import annotations

import math
import random
from typing import Any

from molexp import Task, TaskContext
from typed.models import (
    ClusterSpec,
    Deps,
    HasTemperature,
    Minimized,
    Report,
    State,
    Structure,
    Trajectory,
)
from typed.workflow_contexts import AnalyzeContext, MinimizeContext, SampleContext


def lj_energy(positions: tuple[tuple[float, ...], ...]) -> float:
    energy = 0.0
    for i, a in enumerate(positions):
        for b in positions[i + 1 :]:
            r2 = sum((p - q) ** 2 for p, q in zip(a, b, strict=True))
            inv6 = 1.0 / r2**3
            energy += 4.0 * (inv6 * inv6 - inv6)
    return energy


class BuildCluster(Task[TaskContext[State, Deps, ClusterSpec], Structure]):
    async def execute(self, ctx: TaskContext[State, Deps, ClusterSpec]) -> Structure:
        spec = ctx.inputs
        side = math.ceil(spec.atoms ** (1 / 3))
        grid = [(x, y, z) for x in range(side) for y in range(side) for z in range(side)]
        return Structure(
            tuple(
                (x * spec.spacing, y * spec.spacing, z * spec.spacing)
                for x, y, z in grid[: spec.atoms]
            )
        )


class Minimize(Task[MinimizeContext, Minimized]):
    async def execute(self, ctx: MinimizeContext) -> Minimized:
        positions = ctx.inputs.positions  # Structure: the single upstream's output
        energy = lj_energy(positions)
        rng = random.Random(0)
        step = float(ctx.config.get("step", 0.02))
        for steps in range(1, ctx.deps.max_steps + 1):  # noqa: B007 - the count is returned
            i = rng.randrange(len(positions))
            moved = tuple(c + rng.uniform(-step, step) for c in positions[i])
            trial = positions[:i] + (moved,) + positions[i + 1 :]
            trial_energy = lj_energy(trial)
            ctx.state.energy_evaluations += 1
            if trial_energy < energy:
                positions, energy = trial, trial_energy
        return Minimized(Structure(positions), energy, steps)


class Anneal(Task[TaskContext[HasTemperature, Any, Minimized], Minimized]):
    """Reusable: any workflow whose state has a temperature can use it."""

    async def execute(self, ctx: TaskContext[HasTemperature, Any, Minimized]) -> Minimized:
        scale = 1.0 + ctx.state.temperature / 100.0
        structure = Structure(
            tuple(tuple(c * scale for c in p) for p in ctx.inputs.structure.positions)
        )
        return Minimized(structure, lj_energy(structure.positions), ctx.inputs.steps)


class Sample(Task[SampleContext, Trajectory]):
    async def execute(self, ctx: SampleContext) -> Trajectory:
        rng = random.Random(1)
        base = ctx.inputs.energy
        energies = tuple(base + rng.gauss(0.0, ctx.state.temperature) for _ in range(50))
        ctx.state.energy_evaluations += len(energies)
        return Trajectory(energies, ctx.state.temperature)


class Analyze(Task[AnalyzeContext, Report]):
    async def execute(self, ctx: AnalyzeContext) -> Report:
        minimized = ctx.inputs["minimized"]  # Minimized
        trajectory = ctx.inputs["trajectory"]  # Trajectory
        mean = sum(trajectory.energies) / len(trajectory.energies)
        return Report(round(minimized.energy, 3), round(mean, 3), ctx.deps.engine)
