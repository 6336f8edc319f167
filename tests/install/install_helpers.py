"""What a new user sees: molexp installed into a fresh venv, a workflow package in their
own folder (outside this checkout), and their own ``mypy --strict`` and basedpyright run there.

Slow end-to-end checks (a venv and a real ``pip install`` each): every test module builds
one venv (module scope) and runs each checker once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[2]

# The user's workflow: Analyze is a reusable task that needs something with frames (a
# Protocol), but the graph wires it after build (a Structure). That edge, and only it, is
# broken; a Protocol is for the checkers to decide (wf.add refuses only plain classes).
PROJECT = {
    "labflow/__init__.py": '"""A user\'s workflow package."""\n',
    "labflow/models.py": """\
        from __future__ import annotations

        from typing import Protocol

        import attrs


        @attrs.define
        class State:
            steps: int = 0


        @attrs.frozen
        class Structure:
            symbols: tuple[str, ...]


        @attrs.frozen
        class Trajectory:
            frames: int


        class HasFrames(Protocol):
            @property
            def frames(self) -> int: ...
        """,
    "labflow/tasks.py": """\
        from __future__ import annotations

        from typing_extensions import override

        from labflow.models import HasFrames, State, Structure, Trajectory
        from labflow.workflow_contexts import SimulateContext
        from molexp import Task, TaskContext


        class Build(Task[TaskContext[State, None, int], Structure]):
            @override
            async def execute(self, ctx: TaskContext[State, None, int]) -> Structure:
                return Structure(("Ar",) * ctx.inputs)


        class Simulate(Task[SimulateContext, Trajectory]):
            @override
            async def execute(self, ctx: SimulateContext) -> Trajectory:
                ctx.state.steps += 1
                return Trajectory(frames=10 * len(ctx.inputs.symbols))


        class Analyze(Task[TaskContext[State, None, HasFrames], float]):
            @override
            async def execute(self, ctx: TaskContext[State, None, HasFrames]) -> float:
                return float(ctx.inputs.frames)
        """,
    "labflow/workflow.py": """\
        from __future__ import annotations

        from labflow.models import State
        from labflow.tasks import Analyze, Build, Simulate
        from molexp import Workflow

        wf = Workflow("labflow", state=State, input=int)
        build = wf.add(Build())
        simulate = wf.add(Simulate(), after=build)
        analyze = wf.add(Analyze(), after=build)  # broken: Analyze needs frames
        """,
}
BROKEN_EDGE = "edge__build__analyze"


@attrs.frozen
class UserEnv:
    """A fresh venv with molexp installed, and the user's project folder."""

    venv: Path
    project: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        """An activated venv, nothing of this checkout or of the test run's own venv."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "MYPYPATH", "VIRTUAL_ENV", "PYTHONHOME")
        }
        env["VIRTUAL_ENV"] = str(self.venv)
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")])
        return env

    def run(self, *argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd or self.project,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )

    def pip(self, *args: str | Path, cwd: Path | None = None) -> None:
        proc = self.run(self.python, "-m", "pip", "install", "-q", *args, cwd=cwd)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def fresh_venv(root: Path) -> UserEnv:
    """A new venv (with pip) and the user's project folder beside it, outside the checkout."""
    assert not root.resolve().is_relative_to(REPO), root
    venv.EnvBuilder(with_pip=True, clear=True).create(root / "venv")
    project = root / "project"
    for name, text in PROJECT.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return UserEnv(root / "venv", project)


def install_tools_and_generate(user: UserEnv) -> None:
    """The user's own checkers and the generator's dependencies, then ``molexp gen``."""
    user.pip("mypy", "jinja2")
    proc = user.run("molexp", "gen", "labflow/workflow.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (user.project / "labflow" / "workflow_contexts.py").is_file()


def site_packages(user: UserEnv) -> Path:
    proc = user.run(user.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    return Path(proc.stdout.strip())


def imported_from(user: UserEnv, module: str) -> Path:
    proc = user.run(user.python, "-c", f"import {module}; print({module}.__file__)")
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip())


def mypy_lines(
    user: UserEnv, *args: str, target: str = "labflow", cwd: Path | None = None
) -> tuple[int, list[str]]:
    """The user's plain ``mypy`` from their folder: exit code and its error lines."""
    proc = user.run(user.python, "-m", "mypy", *args, target, cwd=cwd)
    lines = proc.stdout.splitlines()
    assert "error:" not in proc.stderr, proc.stderr
    return proc.returncode, [line for line in lines if ": error: " in line]


def basedpyright_errors(
    user: UserEnv, target: str = "labflow", cwd: Path | None = None
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """basedpyright in its default mode (what Pylance-like editors run), in the user's
    folder with the venv active: its errors, and its diagnostics in the generated files.

    basedpyright is a dev dependency of molexp, run from the test's own environment the
    way an editor runs its bundled engine against the selected interpreter (the venv's
    ``python`` first on PATH).
    """
    exe = shutil.which("basedpyright", path=str(Path(sys.executable).parent))
    assert exe is not None, "basedpyright is a dev dependency: pip install -e '.[dev]'"
    proc = user.run(exe, "--outputjson", target, cwd=cwd)
    report = json.loads(proc.stdout)
    diagnostics: list[dict[str, object]] = report["generalDiagnostics"]
    errors = [d for d in diagnostics if d["severity"] == "error"]
    generated = [
        d for d in diagnostics if "_contexts" in str(d["file"]) or "_edges" in str(d["file"])
    ]
    return errors, generated


def enclosing_check(path: Path, line: int) -> str | None:
    """The ``edge__*`` check function a (1-based) line of a generated module belongs to."""
    owner = None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.strip()
        if number <= line and stripped.startswith("async def edge__"):
            owner = stripped.removeprefix("async def ").split("(", 1)[0]
    return owner


def assert_mypy_strict_reports_the_edge(user: UserEnv) -> None:
    code, errors = mypy_lines(user, "--strict")
    assert not any("import-not-found" in e or "import-untyped" in e for e in errors), errors
    assert code == 1 and len(errors) == 1, errors
    where, _, message = errors[0].partition(": error: ")
    file, line = where.split(":")[:2]
    assert enclosing_check(user.project / file, int(line)) == BROKEN_EDGE, errors
    assert '"execute" of "Analyze"' in message and "[arg-type]" in message, errors


def assert_basedpyright_reports_the_edge(user: UserEnv) -> None:
    errors, generated = basedpyright_errors(user)
    messages = [str(e["message"]) for e in errors]
    assert not any("could not be resolved" in m for m in messages), messages
    assert not any("Cycle detected" in m for m in messages), messages
    assert len(errors) == 1 and errors[0]["rule"] == "reportArgumentType", messages
    start = errors[0]["range"]["start"]["line"]  # type: ignore[index]
    assert enclosing_check(Path(str(errors[0]["file"])), int(start) + 1) == BROKEN_EDGE
    # The generated modules themselves are clean in this mode: no warning either.
    assert [d for d in generated if d is not errors[0]] == [], generated


def assert_molexp_check_names_the_edge(user: UserEnv) -> None:
    proc = user.run("molexp", "check", "labflow/workflow.py", "--mypy-arg=--strict")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"[in {BROKEN_EDGE}]" in proc.stdout, proc.stdout
    assert "import-not-found" not in proc.stdout, proc.stdout
