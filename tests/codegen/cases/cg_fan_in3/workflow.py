from __future__ import annotations

from cg_fan_in3.models import State
from cg_fan_in3.tasks import Energy, Frames, Metadata, Summarize
from molexp import Workflow

wf = Workflow("fan-in", state=State)
energy = wf.add(Energy())
frames = wf.add(Frames())
meta = wf.add(Metadata(), name="meta")
summary = wf.add(Summarize(), after={"energy": energy, "frames": frames, "meta": meta})
