from __future__ import annotations

from cg_root_input.models import Thermostat
from cg_root_input.workflow_contexts import BuildThermostatContext, CountStepsContext
from molexp import Task


class BuildThermostat(Task[BuildThermostatContext, Thermostat]):
    async def execute(self, ctx: BuildThermostatContext) -> Thermostat:
        return Thermostat(ctx.inputs.temperature)


class CountSteps(Task[CountStepsContext, int]):
    async def execute(self, ctx: CountStepsContext) -> int:
        return ctx.inputs.steps
