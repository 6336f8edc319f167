from __future__ import annotations

from cg_actors.models import Deps, State
from cg_actors.tasks import Monitor, Report, Sampler, Setup, Thermostat, Writer
from molexp import Workflow

#   setup -> sampler ==Frame==>   monitor ==Stats==> writer
#         -> thermostat ==Reading==^   \-> report <-/ (last yields)
wf = Workflow("stream", state=State, deps=Deps, input=int)
setup = wf.add(Setup())
sampler = wf.add(Sampler(), after=setup)
thermostat = wf.add(Thermostat(), after=setup)
monitor = wf.add(Monitor(), after=[sampler, thermostat])
writer = wf.add(Writer(), after={"stats": monitor, "settings": setup})
report = wf.add(Report(), after={"stats": monitor, "last_line": writer})
