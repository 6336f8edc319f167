from __future__ import annotations

from cg_scan.models import State
from cg_scan.tasks import Build, Keyed, Paired, Relax, RelaxSpecial, Summary
from molexp import Workflow

wf = Workflow("scan", state=State)
build = wf.add(Build())
relaxed = [wf.add(Relax(float(i)), after=build, name=f"relax_{i}") for i in range(3)]
special = wf.add(RelaxSpecial(), after=build)
summary = wf.add(Summary(), after=[*relaxed, special])
keyed = wf.add(Keyed(), after={"b": relaxed[1], "a": relaxed[0]})  # keyed, after= order
paired = wf.add(Paired(), after={"first": special})
