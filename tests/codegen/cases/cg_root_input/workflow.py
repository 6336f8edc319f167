from __future__ import annotations

from cg_root_input.models import RunConfig
from cg_root_input.tasks import BuildThermostat, CountSteps
from molexp import Workflow

wf = Workflow("root-input", input=RunConfig)
thermostat = wf.add(BuildThermostat())
steps = wf.add(CountSteps())
