"""The graph of the typed example. ``molexp gen`` reads it; so does the runtime."""

from __future__ import annotations

from molexp import Workflow
from typed.models import ClusterSpec, Deps, State
from typed.tasks import Analyze, Anneal, BuildCluster, Minimize, Sample

wf = Workflow("lj-cluster", state=State, deps=Deps, input=ClusterSpec)
build = wf.add(BuildCluster())
minimize = wf.add(Minimize(), after=build)
anneal = wf.add(Anneal(), after=minimize)
sample = wf.add(Sample(), after=anneal)
analyze = wf.add(Analyze(), after={"minimized": minimize, "trajectory": sample})
