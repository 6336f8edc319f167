"""Two workflows in one module: contexts are prefixed with the workflow's name."""

from __future__ import annotations

from cg_multi.workflow_contexts import RelaxMinimizeContext, ScanMinimizeContext
from molexp import Task, TaskContext, Workflow


class Start(Task[TaskContext[None, None, float], float]):
    async def execute(self, ctx: TaskContext[None, None, float]) -> float:
        return ctx.inputs


class MinimizeRelax(Task[RelaxMinimizeContext, str]):
    async def execute(self, ctx: RelaxMinimizeContext) -> str:
        return f"{ctx.inputs:.3f}"


class MinimizeScan(Task[ScanMinimizeContext, int]):
    async def execute(self, ctx: ScanMinimizeContext) -> int:
        return round(ctx.inputs)


relax = Workflow("relax", input=float)
relax_start = relax.add(Start())
relax.add(MinimizeRelax(), after=relax_start, name="minimize")

scan = Workflow("scan", input=float)
scan_start = scan.add(Start())
scan.add(MinimizeScan(), after=scan_start, name="minimize")
