from __future__ import annotations

from cg_same_name.tasks import Compare, Draw, Note, Simulate, Train
from molexp import Workflow

wf = Workflow("same-name")
simulate = wf.add(Simulate())
draw = wf.add(Draw())
note = wf.add(Note())
train = wf.add(Train(), after=note)
compare = wf.add(Compare(), after={"sim": simulate, "pic": draw, "train": train})
