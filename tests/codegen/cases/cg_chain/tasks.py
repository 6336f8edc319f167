from __future__ import annotations

from cg_chain.models import Deps, Energy, State, Structure, Trajectory
from cg_chain.workflow_contexts import AnalyzeContext, SimulateContext
from molexp import Task, TaskContext


class Load(Task[TaskContext[State, Deps, None], Structure]):
    async def execute(self, ctx: TaskContext[State, Deps, None]) -> Structure:
        return Structure(("Ar", "Ar"))


class Simulate(Task[SimulateContext, Trajectory]):
    async def execute(self, ctx: SimulateContext) -> Trajectory:
        ctx.state.steps += 1
        return Trajectory(frames=len(ctx.inputs.symbols) * 10)


class Analyze(Task[AnalyzeContext, Energy]):
    async def execute(self, ctx: AnalyzeContext) -> Energy:
        return Energy(value=-1.0 * ctx.inputs.frames)
