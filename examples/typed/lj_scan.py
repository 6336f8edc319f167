"""The ``--stubs`` style: no generated runtime module, contexts in ``stubs/lj_scan_contexts.pyi``.

Generate with ``molexp gen examples/typed/lj_scan.py --stubs stubs``; mypy finds the stub
through ``mypy_path = "stubs"``. At runtime the plain ``TaskContext`` stands in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from molexp import Task, TaskContext, Workflow

if TYPE_CHECKING:
    from lj_scan_contexts import BestContext, CurveContext, GridContext
else:
    BestContext = CurveContext = GridContext = TaskContext


@attrs.frozen
class Curve:
    distances: tuple[float, ...]
    energies: tuple[float, ...]


class Grid(Task[GridContext, tuple[float, ...]]):
    async def execute(self, ctx: GridContext) -> tuple[float, ...]:
        start, stop = ctx.inputs  # tuple[float, float]: the workflow input
        return tuple(start + i * (stop - start) / 99 for i in range(100))


class CurveTask(Task[CurveContext, Curve]):
    async def execute(self, ctx: CurveContext) -> Curve:
        rs = ctx.inputs
        return Curve(rs, tuple(4.0 * (r**-12 - r**-6) for r in rs))


class Best(Task[BestContext, float]):
    async def execute(self, ctx: BestContext) -> float:
        curve = ctx.inputs["curve"]
        energy, r = min(zip(curve.energies, curve.distances, strict=True))
        return round(r, 2) if energy < 0 else ctx.inputs["grid"][0]


scan_workflow = Workflow("lj-scan", input=tuple[float, float])
grid = scan_workflow.add(Grid())
curve = scan_workflow.add(CurveTask(), after=grid, name="curve")
best = scan_workflow.add(Best(), after={"grid": grid, "curve": curve})
