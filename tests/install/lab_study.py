"""A lab and a study (issue 11, item 5): the lab publishes a reusable task written against
its own generated context, as a wheel with ``py.typed`` and the generated modules; the
study installs that wheel (not editable) next to molexp and places the lab's task in its
own graph. Built in the wheel test's venv (see test_wheel_install), so no extra venv.

The lab's generated ``RelaxContext`` is ``TaskContext[LabState, None, Structure]`` (what its
own graph gives). The study's graph fits it structurally: a ``StudyState(LabState)`` and a
``Crystal(Structure)``. Its mis-wired twin feeds it a ``Molecule``; ``wf.add`` cannot decide
that edge at run time (the generated alias names ``Structure`` as a string imported only under
``TYPE_CHECKING``), so it is the checkers' to report, naming both types.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from install_helpers import UserEnv

LAB = {
    "pyproject.toml": """\
        [build-system]
        requires = ["hatchling>=1.21"]
        build-backend = "hatchling.build"

        [project]
        name = "labflows"
        version = "1.0"
        requires-python = ">=3.11"
        dependencies = ["molexp"]
        """,
    "labflows/__init__.py": '"""A lab\'s reusable relaxation workflow."""\n',
    "labflows/py.typed": "",
    "labflows/models.py": """\
        from __future__ import annotations

        import attrs


        @attrs.define
        class LabState:
            relaxations: int = 0


        @attrs.frozen
        class Structure:
            symbols: tuple[str, ...]
            cell: float


        @attrs.frozen
        class Relaxed:
            energy: float
        """,
    "labflows/tasks.py": """\
        from __future__ import annotations

        from typing_extensions import override

        from labflows.models import LabState, Relaxed, Structure
        from labflows.workflow_contexts import RelaxContext
        from molexp import Task, TaskContext


        class BuildCell(Task[TaskContext[LabState, None, int], Structure]):
            @override
            async def execute(self, ctx: TaskContext[LabState, None, int]) -> Structure:
                return Structure(("Cu",) * ctx.inputs, 3.6)


        class Relax(Task[RelaxContext, Relaxed]):
            \"\"\"The lab's reusable task, written against its own generated context.\"\"\"

            @override
            async def execute(self, ctx: RelaxContext) -> Relaxed:
                ctx.state.relaxations += 1
                return Relaxed(energy=-len(ctx.inputs.symbols) * ctx.inputs.cell)
        """,
    "labflows/workflow.py": """\
        from __future__ import annotations

        from labflows.models import LabState
        from labflows.tasks import BuildCell, Relax
        from molexp import Workflow

        wf = Workflow("lab", state=LabState, input=int)
        build = wf.add(BuildCell())
        relax = wf.add(Relax(), after=build)
        """,
}

STUDY = {
    "study/__init__.py": '"""A study using the lab\'s task."""\n',
    "study/models.py": """\
        from __future__ import annotations

        import attrs

        from labflows.models import LabState, Structure


        @attrs.define
        class StudyState(LabState):
            label: str = "scan"


        @attrs.frozen
        class Crystal(Structure):
            spacegroup: int = 225


        @attrs.frozen
        class Molecule:
            symbols: tuple[str, ...]
        """,
    "study/workflow.py": """\
        from __future__ import annotations

        from typing_extensions import override

        from labflows.tasks import Relax
        from molexp import Task, TaskContext, Workflow
        from study.models import Crystal, StudyState


        class MakeCrystal(Task[TaskContext[StudyState, None, int], Crystal]):
            @override
            async def execute(self, ctx: TaskContext[StudyState, None, int]) -> Crystal:
                return Crystal(("Ag",) * ctx.inputs, 4.1)


        wf = Workflow("study", state=StudyState, input=int)
        make = wf.add(MakeCrystal())
        relax = wf.add(Relax(), after=make)
        """,
    # Its own package, so that checking `study` does not see it.
    "miswired/__init__.py": '"""The study, mis-wired: a Molecule into the lab\'s Relax."""\n',
    "miswired/workflow.py": """\
        from __future__ import annotations

        from typing_extensions import override

        from labflows.tasks import Relax
        from molexp import Task, TaskContext, Workflow
        from study.models import Molecule, StudyState


        class MakeMolecule(Task[TaskContext[StudyState, None, int], Molecule]):
            @override
            async def execute(self, ctx: TaskContext[StudyState, None, int]) -> Molecule:
                return Molecule(("H",) * ctx.inputs)


        wf = Workflow("miswired", state=StudyState, input=int)
        make = wf.add(MakeMolecule())
        relax = wf.add(Relax(), after=make)  # broken: a Molecule is no Structure
        """,
}
MISWIRED_EDGE = "edge__make_molecule__relax"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def build_and_install_lab(user: UserEnv, root: Path) -> Path:
    """The lab generates its contexts, builds its wheel and the study installs it."""
    lab = write_tree(root / "lab", LAB)
    proc = user.run("molexp", "gen", "labflows/workflow.py", cwd=lab)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dist = root / "lab-dist"
    proc = user.run(user.python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, lab)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = dist.glob("labflows-*.whl")
    user.pip(wheel)  # not editable: the study sees only what the wheel ships
    return wheel
