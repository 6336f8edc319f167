from __future__ import annotations

from cg_protocol.models import Deps, State
from cg_protocol.tasks import Center, Load, Tail, Untyped
from molexp import Workflow

wf = Workflow("protocol-state", state=State, deps=Deps)
load = wf.add(Load())
center = wf.add(Center(), after=load)
untyped = wf.add(Untyped(), after=center)
tail = wf.add(Tail(), after=untyped)
