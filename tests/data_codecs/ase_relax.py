"""An ASE EMT + BFGS relaxation of a Cu cell as a tracked workflow (run by the tests)."""

from __future__ import annotations

import asyncio
import sys

import attrs
import numpy as np
import numpy.typing as npt
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.optimize import BFGS

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import Workspace


@attrs.frozen
class Relaxation:
    energy: float
    forces: npt.NDArray[np.float64]
    steps: int
    structure: Atoms


class Relax(Task[TaskContext[None, None, int], Relaxation]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> Relaxation:
        seed = ctx.inputs
        atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 2, 2))
        atoms.rattle(0.05, seed=seed)
        atoms.calc = EMT()
        opt = BFGS(atoms, logfile=None)

        def checkpoint() -> None:
            ctx.checkpoint("positions", data=atoms.get_positions())

        opt.attach(checkpoint, interval=1)
        opt.run(fmax=0.05, steps=50)
        forces = atoms.get_forces()
        result = Relaxation(float(atoms.get_potential_energy()), forces, opt.nsteps, atoms)
        if ctx.artifact is not None:
            ctx.artifact.save("forces", forces)
            ctx.artifact.save("relaxed", atoms)
            ctx.artifact.save("relaxation", result)
        ctx.set_result("energy", result.energy)
        ctx.set_result("steps", np.int64(opt.nsteps))
        return result


def main(root: str) -> None:
    wf = Workflow("relax-cu")
    wf.add(Relax())
    run = Workspace(root).project("cu").experiment("emt").add_run(params={"seed": 3})

    async def go() -> None:
        async with run.start() as rc:
            result = await WorkflowRuntime().execute(wf, inputs=3, run_context=rc)
            result.raise_for_status()

    asyncio.run(go())
    print(run.id)


if __name__ == "__main__":
    main(sys.argv[1])
