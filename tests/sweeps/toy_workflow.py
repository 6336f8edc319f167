"""A tiny workflow for the sweep tests: energy from the config's temperature and seed."""

from __future__ import annotations

from molexp import Task, TaskContext, Workflow


class Energy(Task[TaskContext[None, None, None], float]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> float:
        temperature = float(ctx.config["temperature"])
        if temperature > 5:
            raise RuntimeError(f"too hot: {temperature}")
        energy = -4.0 + 0.5 * temperature + 0.01 * int(ctx.config.get("seed", 0))
        ctx.set_result("energy", energy)
        ctx.set_result("steps", int(ctx.config["md"]["steps"]))
        return energy


wf = Workflow("toy")
wf.add(Energy())
