"""Input errors that used to end in a traceback (or exit 0 with no run): each is now one
line on stderr and exit 2, and no run is created. The real console script, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

FLOW = """
from molexp import Task, TaskContext, Workflow


class Hello(Task[TaskContext[None, None, None], str]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> str:
        return "hello"


wf = Workflow("hello")
wf.add(Hello())
"""


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(("error: ", "molexp: error: ")), proc.stderr
    assert pattern in lines[0], proc.stderr


def runs_in(workspace: Path) -> list[Path]:
    return sorted(workspace.glob("projects/*/experiments/*/runs/*"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-s", "x=nan"],
            "override 'x=nan': x is nan; configs and params are recorded as JSON, which has "
            """no NaN or Infinity (for the text, quote it: x='"nan"')""",
        ),
        (["-s", "md.grid=[0.1, [0.2, -inf]]"], "override 'md.grid=[0.1, [0.2, -inf]]': "),
        (["-s", "md.grid=[0.1, [0.2, -inf]]"], "md.grid[1][1] is -inf"),
        (["--param", "replica=inf"], "override 'replica=inf': replica is inf;"),
    ],
)
def test_non_finite_overrides(project: Path, args: list[str], message: str) -> None:
    proc = molexp("run", "flow.py", *args, cwd=project)
    assert_one_line_error(proc, message)
    assert runs_in(project / "molexp-workspace") == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[defaults]\nx = nan\n", "[defaults] x is nan; configs are recorded as JSON"),
        (
            "[profiles.quick]\nmd = { dt = [0.5, { y = inf }] }\n",
            "[profiles.quick] md.dt[1].y is inf",
        ),
        ("x = nan\n", "unknown top-level table(s) x"),
    ],
)
def test_non_finite_values_in_molexp_toml(project: Path, toml: str, message: str) -> None:
    (project / "molexp.toml").write_text(toml)
    proc = molexp("run", "flow.py", cwd=project)
    assert_one_line_error(proc, f"profile file {project / 'molexp.toml'}: {message}")
    assert runs_in(project / "molexp-workspace") == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "profiles: Is a directory"),
        (lambda p: p.write_bytes(b"\xff[defaults]\n"), "profiles is not UTF-8 text: invalid start"),
    ],
)
def test_an_unreadable_profile_file(project: Path, make: Any, message: str) -> None:
    make(project / "profiles")
    proc = molexp("run", "flow.py", "--profile-file", "profiles", cwd=project)
    assert_one_line_error(proc, f"profile file {message}")


def test_a_quoted_nan_is_the_text(project: Path) -> None:
    proc = molexp("run", "flow.py", "-s", 'x="nan"', cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(runs_in(project / "molexp-workspace")) == 1


def test_workspace_on_a_file(project: Path) -> None:
    (project / "afile").write_text("not a workspace")
    proc = molexp("run", "flow.py", "--workspace", "afile", cwd=project)
    assert_one_line_error(proc, "--workspace afile: afile is a file, not a folder")
    proc = molexp("run", "flow.py", "--workspace", "afile/ws", cwd=project)
    assert_one_line_error(proc, "--workspace afile/ws: afile is a file, not a folder")
    for command in (["runs"], ["runs", "show", "x"], ["assets"], ["catalog", "rebuild"]):
        proc = molexp(*command, "--workspace", "afile", cwd=project)
        assert_one_line_error(proc, "--workspace afile is a file, not a workspace folder")
    assert (project / "afile").read_text() == "not a workspace"


def test_a_file_in_the_workspace_layout(project: Path) -> None:
    """Creating the run fails on the filesystem: an input error, before any run exists."""
    (project / "ws").mkdir()
    (project / "ws" / "projects").write_text("")
    proc = molexp("run", "flow.py", "--workspace", "ws", cwd=project)
    assert_one_line_error(proc, f"workspace {project / 'ws'}: Not a directory: ")
    assert (project / "ws" / "projects").read_text() == ""


@pytest.mark.parametrize(
    ("script", "code", "line"),
    [
        ("import sys\n\nsys.exit(0)\n", "0", 3),
        ("import sys\n\nsys.exit('no input')\n", "'no input'", 3),
        ("raise SystemExit(3)\n", "3", 1),
    ],
)
def test_a_workflow_module_that_exits_at_import(
    project: Path, script: str, code: str, line: int
) -> None:
    (project / "script.py").write_text(script)
    expected = (
        f"{project / 'script.py'}: importing script called sys.exit({code}) "
        f"(raised at {project / 'script.py'}:{line}); a workflow module must not exit"
    )
    for command in (["run", "script.py"], ["graph", "script.py"], ["gen", "script.py"]):
        proc = molexp(*command, cwd=project)
        assert_one_line_error(proc, expected)
    assert not (project / "molexp-workspace").exists()
    assert not (project / "script_contexts.py").exists()
