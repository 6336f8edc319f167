from __future__ import annotations

from cg_chain.models import Deps, State
from cg_chain.tasks import Analyze, Load, Simulate
from molexp import Workflow

wf = Workflow("chain", state=State, deps=Deps)
load = wf.add(Load())
simulate = wf.add(Simulate(), after=load)
analyze = wf.add(Analyze(), after=simulate)
