from __future__ import annotations

from cg_map import refine
from cg_map.models import State
from cg_map.tasks import Best, Generate, Notes, Relax, Summary
from molexp import SubWorkflow, Workflow

wf = Workflow("map-scan", state=State)
generate = wf.add(Generate())
relaxed = wf.map(Relax(), over=generate)
summary = wf.add(Summary(), after=relaxed)
best = wf.add(Best(), after=relaxed)
# A workflow of another module inside this one, once and per element of a map.
single = wf.add(
    SubWorkflow(refine.refine_wf, output=refine.polished), after=best, name="refine_best"
)
refined = wf.map(SubWorkflow(refine.refine_wf, output=refine.polished), over=relaxed, name="refine")
notes = wf.add(Notes(), after=refined)
