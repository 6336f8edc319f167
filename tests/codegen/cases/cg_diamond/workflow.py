from __future__ import annotations

from cg_diamond.tasks import Join, Left, Prepare, Right
from molexp import Workflow

wf = Workflow("diamond")
prepare = wf.add(Prepare())
left = wf.add(Left(), after=prepare)
right = wf.add(Right(), after=prepare)
join = wf.add(Join(), after=[left, right])
