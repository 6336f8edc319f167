"""Task names that are Python keywords, and names that collide after PascalCase."""

from __future__ import annotations

from cg_keywords.tasks import Collect, Double, Scale, Step, Triple
from molexp import Workflow

wf = Workflow("keywords")
lam = wf.add(Step(), name="lambda")
a_b = wf.add(Scale(), after=lam, name="a_b")
a__b = wf.add(Double(), after=lam, name="a__b")
ab2 = wf.add(Triple(), after=lam, name="a_b2")
match = wf.add(Collect(), after={"match": a_b, "from": a__b, "type": ab2}, name="match")
join = wf.add(Collect(), after=[lam, a_b], name="class_")
