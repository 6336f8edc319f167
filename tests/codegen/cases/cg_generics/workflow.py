from __future__ import annotations

from cg_generics.tasks import Boxed, Consume, Models, Scorer, Scores, Seq, Shape
from molexp import Workflow

wf = Workflow("generics")
models = wf.add(Models())
scores = wf.add(Scores(), after=models)
boxed = wf.add(Boxed())
shape = wf.add(Shape())
seq = wf.add(Seq())
scorer = wf.add(Scorer())
consume = wf.add(
    Consume(),
    after={
        "scores": scores,
        "boxed": boxed,
        "shape": shape,
        "seq": seq,
        "scorer": scorer,
    },
)
