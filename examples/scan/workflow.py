"""A density scan whose size comes from the profile: generate N structures, relax each with
the relax sub-workflow (a map, on worker processes when run with ``--workers``), summarize.

    molexp run examples/scan/workflow.py --profile quick --workers 2
"""

from __future__ import annotations

from molexp import SubWorkflow, Task, Workflow

from . import physics, relax
from .models import Relaxed, ScanSummary, Structure
from .workflow_contexts import GenerateContext, SummarizeContext


class Generate(Task[GenerateContext, list[Structure]]):
    """``count`` lattices from ``density_min`` to ``density_max`` (profile)."""

    async def execute(self, ctx: GenerateContext) -> list[Structure]:
        count = int(ctx.config.get("count", 4))
        low = float(ctx.config.get("density_min", 0.6))
        high = float(ctx.config.get("density_max", 1.2))
        n_side = int(ctx.config.get("n_side", 3))
        out = []
        for i in range(count):
            density = low + (high - low) * i / max(count - 1, 1)
            box = (n_side**3 / density) ** (1 / 3)
            out.append(Structure(i, density, box, physics.lattice(n_side, box, jitter=0.05)))
        return out


class Summarize(Task[SummarizeContext, ScanSummary]):
    """The whole scan in input order: the lowest energy per atom and where it is."""

    async def execute(self, ctx: SummarizeContext) -> ScanSummary:
        relaxed: list[Relaxed] = ctx.inputs
        best = min(relaxed, key=lambda r: r.energy_per_atom)
        summary = ScanSummary(
            tuple(r.density for r in relaxed),
            tuple(r.energy_per_atom for r in relaxed),
            best.density,
        )
        ctx.set_result("best_density", round(best.density, 4))
        ctx.set_result("best_energy_per_atom", round(best.energy_per_atom, 4))
        return summary


wf = Workflow("lj-density-scan")
structures = wf.add(Generate())
# executor="cpu": with `molexp run --workers N` only the relaxations go to worker processes.
relaxed = wf.map(
    SubWorkflow(relax.relax_wf, output=relax.measured),
    over=structures,
    name="relax",
    executor="cpu",
)
summary = wf.add(Summarize(), after=relaxed)
