from __future__ import annotations

from cg_types.tasks import (
    Atom,
    Either,
    Energy,
    Forces,
    MaybeCell,
    Nothing,
    Report,
    Sink,
    Site,
    Spec,
    State,
    Where,
)
from molexp import Workflow

wf = Workflow("types")
nodes = {
    "nothing": wf.add(Nothing()),
    "cell": wf.add(MaybeCell(), name="cell"),
    "either": wf.add(Either()),
    "energy": wf.add(Energy()),
    "atom": wf.add(Atom()),
    "site": wf.add(Site()),
    "spec": wf.add(Spec()),
    "sink": wf.add(Sink()),
    "where": wf.add(Where()),
    "phase": wf.add(State(), name="phase"),
    "forces": wf.add(Forces()),
}
report = wf.add(Report(), after=nodes)
