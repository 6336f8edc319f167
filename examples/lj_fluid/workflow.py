"""The Lennard-Jones fluid workflow: build -> equilibrate -> produce -> (energy, g(r)) -> report.

Run it tracked, with a profile:  molexp run examples/lj_fluid/workflow.py --profile quick
"""

from __future__ import annotations

from molexp import Workflow

from .models import Deps, State
from .tasks import BuildSystem, EnergyStatsTask, Equilibrate, MakeReport, Production, RdfTask

wf = Workflow(
    "lj-fluid",
    state=State,
    deps=Deps,
    make_deps=lambda config: Deps(seed=int(config.get("seed", 2026))),
)
build = wf.add(BuildSystem(), name="build_system")
equilibrate = wf.add(Equilibrate(), after=build)
production = wf.add(Production(), after=equilibrate)
energy = wf.add(EnergyStatsTask(), after=production, name="energy_stats")
rdf = wf.add(RdfTask(), after=production, name="rdf")
report = wf.add(
    MakeReport(), after={"energy": energy, "rdf": rdf, "trajectory": production}, name="report"
)
