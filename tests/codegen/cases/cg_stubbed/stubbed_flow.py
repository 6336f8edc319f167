from __future__ import annotations

from cg_stubbed.tasks import Draw, Merge, Scale
from molexp import Workflow

wf = Workflow("stubbed", input=int)
draw = wf.add(Draw())
scale = wf.add(Scale(), after=draw)
merge = wf.add(Merge(), after={"raw": draw, "scaled": scale})
