"""Quickstart: a Lennard-Jones dimer scanned in two ranges, merged by a fan-in task.

Run it with ``python examples/quickstart.py``. It needs nothing but molexp.
"""

from __future__ import annotations

import asyncio

import attrs

from molexp import Task, TaskContext, Workflow, WorkflowRuntime


@attrs.define
class State:
    evaluations: int = 0


@attrs.frozen
class Potential:
    epsilon: float
    sigma: float

    def energy(self, r: float) -> float:
        sr6 = (self.sigma / r) ** 6
        return 4.0 * self.epsilon * (sr6 * sr6 - sr6)


@attrs.frozen
class Scan:
    distances: tuple[float, ...]
    energies: tuple[float, ...]


@attrs.frozen
class Minimum:
    distance: float
    energy: float


Ctx = TaskContext[State, None, Potential]


class BuildPotential(Task[TaskContext[State, None, None], Potential]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> Potential:
        return Potential(
            epsilon=float(ctx.config.get("epsilon", 1.0)), sigma=float(ctx.config.get("sigma", 1.0))
        )


class ScanRange(Task[Ctx, Scan]):
    def __init__(self, start: float, stop: float, points: int = 200) -> None:
        self.start, self.stop, self.points = start, stop, points

    async def execute(self, ctx: Ctx) -> Scan:
        step = (self.stop - self.start) / (self.points - 1)
        distances = tuple(self.start + i * step for i in range(self.points))
        ctx.state.evaluations += len(distances)
        return Scan(distances, tuple(ctx.inputs.energy(r) for r in distances))


class FindMinimum(Task[TaskContext[State, None, dict[str, Scan]], Minimum]):
    async def execute(self, ctx: TaskContext[State, None, dict[str, Scan]]) -> Minimum:
        pairs = [
            p
            for scan in ctx.inputs.values()
            for p in zip(scan.distances, scan.energies, strict=True)
        ]
        r, e = min(pairs, key=lambda p: p[1])
        return Minimum(distance=round(r, 3), energy=round(e, 4))


wf = Workflow("lj-dimer", state=State)
potential = wf.add(BuildPotential())
near = wf.add(ScanRange(0.9, 1.2), after=potential, name="near")
far = wf.add(ScanRange(1.2, 2.5), after=potential, name="far")
minimum = wf.add(FindMinimum(), after={"near": near, "far": far})


async def main() -> None:
    result = await WorkflowRuntime().execute(wf, config={"epsilon": 1.0, "sigma": 1.0})
    result.raise_for_status()
    best = result.output(minimum)
    print(f"workflow {wf.name}: {result.status}, {result.state.evaluations} energy evaluations")
    print(
        f"minimum at r = {best.distance} sigma, E = {best.energy} epsilon (exact: r = 1.122, E = -1)"
    )


if __name__ == "__main__":
    asyncio.run(main())
