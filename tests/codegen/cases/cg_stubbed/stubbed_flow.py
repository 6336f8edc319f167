from __future__ import annotations

from molexp import Workflow

from cg_stubbed.tasks import Draw, Merge, Scale

wf = Workflow("stubbed", input=int)
draw = wf.add(Draw())
scale = wf.add(Scale(), after=draw)
merge = wf.add(Merge(), after={"raw": draw, "scaled": scale})
