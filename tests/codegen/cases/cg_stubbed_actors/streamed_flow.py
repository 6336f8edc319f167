from __future__ import annotations

from cg_stubbed_actors.actors import Count, Square, Sum
from molexp import Workflow

wf = Workflow("streamed", input=int)
count = wf.add(Count())
square = wf.add(Square(), after=count)
total = wf.add(Sum(), after=square)
