from __future__ import annotations

from molexp import Workflow

from cg_protocol.models import Deps, State
from cg_protocol.tasks import Center, Load, Tail, Untyped

wf = Workflow("protocol-state", state=State, deps=Deps)
load = wf.add(Load())
center = wf.add(Center(), after=load)
untyped = wf.add(Untyped(), after=center)
tail = wf.add(Tail(), after=untyped)
