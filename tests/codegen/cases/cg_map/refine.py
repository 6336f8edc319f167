"""A reusable workflow of its own module (explicit contexts: nothing to generate)."""

from __future__ import annotations

from cg_map.models import Polished, Relaxed, State
from molexp import Task, TaskContext, Workflow


class Polish(Task[TaskContext[State, None, Relaxed], Polished]):
    async def execute(self, ctx: TaskContext[State, None, Relaxed]) -> Polished:
        return Polished(ctx.inputs.energy - 0.1, "polished")


refine_wf = Workflow("refine", state=State, input=Relaxed)
polished = refine_wf.add(Polish())
