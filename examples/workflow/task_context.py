"""The task context under a tracked run: inputs, deps, config and every workspace helper.

A toy Lennard-Jones argon "simulation" runs as one tracked run of a workspace:

    prepare --> simulate --\\
           \\--> baseline --> report   (fan-in: ctx.inputs["simulate"], ctx.inputs["baseline"])

- ``ctx.inputs``   the workflow input (a root task), the upstream's value, or a keyed mapping;
- ``ctx.deps``     the injected engine; ``ctx.config`` the profile the run was started with;
- ``ctx.find_asset`` finds the force field registered once at project scope;
- ``ctx.artifact.save``, ``ctx.log(...).append``, ``ctx.checkpoint`` and ``ctx.set_result``
  record into the run; every record names the task that wrote it.

Afterwards it prints what the run recorded, read back from the workspace catalog.
Run it with ``python examples/workflow/task_context.py [WORKSPACE_FOLDER]`` (default: a
temporary folder).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import sys
import tempfile
from pathlib import Path

import attrs

from molexp import ProfileConfig, Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import LogAsset, Workspace


@attrs.define
class State:
    energy_evaluations: int = 0


@attrs.frozen
class Engine:
    name: str

    def pair_energy(self, r: float, epsilon: float, sigma: float) -> float:
        sr6 = (sigma / r) ** 6
        return 4.0 * epsilon * (sr6 * sr6 - sr6)


@attrs.frozen
class System:
    atoms: int
    spacing: float


@attrs.frozen
class Trajectory:
    energies: tuple[float, ...]


Ctx = TaskContext[State, Engine, System]


class Prepare(Task[TaskContext[State, Engine, System], System]):
    """Root task: its input is the workflow input; the force field comes from the project."""

    async def execute(self, ctx: TaskContext[State, Engine, System]) -> System:
        forcefield = ctx.find_asset("forcefield/argon.json")
        assert forcefield is not None, "register the force field first"
        run = ctx.require_run()  # this task only makes sense under a run: no None checks
        run.log("prepare").append(
            f"{ctx.inputs.atoms} atoms, force field v{forcefield.version} from {forcefield.scope}"
        )
        run.artifact.save("system.json", ctx.inputs)  # an attrs instance, stored as JSON
        return ctx.inputs


class Simulate(Task[Ctx, Trajectory]):
    """Single upstream: ``ctx.inputs`` is the System itself. Checkpoints every 10 steps."""

    async def execute(self, ctx: Ctx) -> Trajectory:
        ff = ctx.find_asset("forcefield/argon.json")
        assert ff is not None
        params = ff.load()
        steps = int(ctx.config["steps"])
        temperature = float(ctx.config["temperature"])
        # Resume from the last checkpoint of an earlier attempt (the default without a run).
        start = ctx.load_checkpoint("md-state", default={"step": 0, "energies": []})
        energies: list[float] = list(start["energies"])
        log = ctx.log("md/thermo")  # soft: None without a run
        for step in range(int(start["step"]), steps):
            r = ctx.inputs.spacing * (1.0 + 0.02 * math.sin(step / 3.0) * temperature / 100.0)
            energy = ctx.inputs.atoms * ctx.deps.pair_energy(r, params["epsilon"], params["sigma"])
            ctx.state.energy_evaluations += 1
            energies.append(round(energy, 6))
            if log is not None:
                log.append(f"step {step:4d}  E = {energy:+.5f}  engine={ctx.deps.name}")
            if (step + 1) % 10 == 0:
                ctx.checkpoint("md-state", data={"step": step + 1, "energies": energies})
        xyz = "".join(f"{ctx.inputs.atoms}\nstep {i}\n" for i in range(0, steps, 10))
        if ctx.artifact is not None:
            ctx.artifact.save("trajectory.xyz", xyz)
        ctx.set_result("final_energy", energies[-1])
        return Trajectory(tuple(energies))


class Baseline(Task[Ctx, float]):
    async def execute(self, ctx: Ctx) -> float:
        ff = ctx.find_asset("forcefield/argon.json")
        assert ff is not None
        p = ff.load()
        minimum = ctx.inputs.atoms * ctx.deps.pair_energy(2 ** (1 / 6) * p["sigma"], **p)
        ctx.set_result("baseline_energy", round(minimum, 6))
        return minimum


class Report(Task[TaskContext[State, Engine, dict[str, object]], dict[str, float]]):
    """Fan-in: ``ctx.inputs`` maps the keys given in ``after={...}`` to upstream values."""

    async def execute(self, ctx: TaskContext[State, Engine, dict[str, object]]) -> dict[str, float]:
        trajectory = ctx.inputs["simulate"]
        baseline = ctx.inputs["baseline"]
        assert isinstance(trajectory, Trajectory) and isinstance(baseline, float)
        mean = sum(trajectory.energies) / len(trajectory.energies)
        report = {"mean_energy": round(mean, 6), "above_minimum": round(mean - baseline, 6)}
        artifacts = ctx.require_run().artifact
        artifacts.save("report.json", report)
        artifacts.save("report.json", {**report, "revised": True})  # kept as version 2
        ctx.set_result("mean_energy", report["mean_energy"])
        return report


wf = Workflow("argon-md", state=State, deps=Engine, input=System)
prepare = wf.add(Prepare())
simulate = wf.add(Simulate(), after=prepare)
baseline = wf.add(Baseline(), after=prepare)
report = wf.add(Report(), after={"simulate": simulate, "baseline": baseline})


async def main(root: Path) -> None:
    ws = Workspace(root)
    project = ws.project("argon")
    project.assets.add("forcefield/argon.json", {"epsilon": 0.997, "sigma": 3.4})
    run = project.experiment("lj-dimer").add_run(params={"atoms": 2, "spacing": 3.9})
    profile = ProfileConfig({"temperature": 120.0, "steps": 40}, name="quick")

    async with run.start(profile=profile) as rc:
        result = await WorkflowRuntime().execute(
            wf,
            state=State(),
            deps=Engine("toy-lj"),
            inputs=System(atoms=2, spacing=3.9),
            config=rc.config,
            run_context=rc,
        )
        result.raise_for_status()  # a failed result is returned: make it fail the run

    print(
        f"run {run.id}: {run.status}, profile {run.profile!r} (config hash {(run.config_hash or '')[:12]})"
    )
    print(f"  params  {run.params}")
    print(f"  results {run.results}")
    print(f"  state   {result.state}")
    print(f"  report  {result.output(report)}")
    print("recorded assets, in the order written, each attributed to the task that wrote it:")
    for asset in reversed(ws.catalog.query_assets(run=run)):
        producer = asset.producer.task_id if asset.producer else "-"
        extra = f"{asset.line_count} lines" if isinstance(asset, LogAsset) else f"{asset.size} B"
        print(f"  {asset.kind:<10} {asset.name:<22} v{asset.version:<3} {producer:<9} {extra}")
    chain = [a for a in run.assets("checkpoint") if a.name == "md-state"]
    print(
        f"checkpoint chain md-state: {len(chain)} links, latest step "
        f"{run.load_checkpoint('md-state')['step']}, each `previous` points one back: "
        f"{all(b.previous == a.id for a, b in itertools.pairwise(chain))}"
    )
    found = run.find_asset("forcefield/argon.json")
    assert found is not None
    print(f"find_asset('forcefield/argon.json') -> {found.scope} scope, v{found.version}")
    print(
        f"catalog: {len(ws.catalog.query_assets(producer_task='simulate'))} assets by 'simulate', "
        f"{len(ws.catalog.query_runs(status='succeeded'))} succeeded run(s)"
    )
    ws.close()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(Path(sys.argv[1])))
    else:
        with tempfile.TemporaryDirectory(prefix="molexp-example-") as tmp:
            asyncio.run(main(Path(tmp) / "workspace"))
