"""A reusable relax workflow: minimize a structure, then measure it.

It is a workflow of its own (``molexp gen examples/scan/relax.py`` writes its contexts), and
the scan places it inside another workflow with ``SubWorkflow(relax_wf, output=measured)``.
"""

from __future__ import annotations

from molexp import Task, Workflow

from . import physics
from .models import Relaxed, Structure
from .relax_contexts import MeasureContext, MinimizeContext


class Minimize(Task[MinimizeContext, Structure]):
    """Steepest descent for at most ``relax.steps`` steps (profile, default 60)."""

    async def execute(self, ctx: MinimizeContext) -> Structure:
        s = ctx.inputs
        steps = int(ctx.config.get("relax", {}).get("steps", 60))
        positions, _, taken = physics.steepest_descent(s.positions, s.box, steps)
        ctx.set_result(f"steps_{s.index}", taken)
        return Structure(s.index, s.density, s.box, positions)


class Measure(Task[MeasureContext, Relaxed]):
    """Energy per atom of the relaxed structure (recorded as an artifact under a run)."""

    async def execute(self, ctx: MeasureContext) -> Relaxed:
        s = ctx.inputs
        energy, _ = physics.energy_and_forces(list(s.positions), s.box)
        relaxed = Relaxed(s.index, s.density, energy / len(s.positions), 0)
        if ctx.artifact is not None:
            ctx.artifact.save(f"relaxed_{s.index}.json", relaxed)  # by relax[i].measure
        return relaxed


relax_wf = Workflow("relax", input=Structure)
minimized = relax_wf.add(Minimize())
measured = relax_wf.add(Measure(), after=minimized)
