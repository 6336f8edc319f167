"""``molexp run -s``: keys the profile file or the workflow's config class does not know are
rejected with the nearest known key, and values are checked against the declared types,
before any run exists (real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOW = """
import attrs

from molexp import Task, TaskContext, Workflow


@attrs.frozen
class MD:
    steps: int
    dt: float = 0.5


@attrs.frozen
class Config:
    md: MD
    temperature: float = 1.0


class Simulate(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        config = ctx.config.as_(Config)
        ctx.set_result("steps", config.md.steps)
        return config.md.steps


typed = Workflow("typed", config=Config)
typed.add(Simulate())
"""


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    return tmp_path


def _runs(project: Path) -> list[Path]:
    return sorted((project / "molexp-workspace").glob("projects/*/experiments/*/runs/*"))


@pytest.mark.parametrize(
    ("toml", "args", "message"),
    [
        (
            "[defaults]\nmd = { steps = 10 }\n",
            ["-s", "md.stpes=5"],
            "-s md.stpes: unknown config key in molexp.toml or Config; did you mean 'md.steps'?",
        ),
        (
            "[defaults]\nmd = { steps = 10 }\n",
            ["-s", "md.steps=abc"],
            "-s md.steps='abc': expected int (declared in molexp.toml or Config as 10), got str",
        ),
        (
            None,
            ["-s", "temprature=2.0", "-s", "md.steps=3"],
            "-s temprature: unknown config key in Config; did you mean 'temperature'?",
        ),
        (
            None,
            ["-s", "md.steps=many"],
            "config does not fit Config: expected int, got str 'many' @ config.md.steps",
        ),
        (
            "[defaults]\nmd = { steps = 10, dt = 0.1, thermostat = 'nose' }\n",
            [],
            "config does not fit Config: extra fields found (thermostat) @ config.md",
        ),
    ],
)
def test_bad_overrides_exit_2_before_the_run(
    project: Path, toml: str | None, args: list[str], message: str
) -> None:
    if toml is not None:
        (project / "molexp.toml").write_text(toml)
    proc = molexp("run", "flow.py", *args, cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: {message}\n"
    assert _runs(project) == []


def test_known_keys_and_fitting_values_run(project: Path) -> None:
    (project / "molexp.toml").write_text("[defaults]\nmd = { steps = 10 }\n")
    proc = molexp("run", "flow.py", "-s", "md.steps=3", "-s", "md.dt=1", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "steps = 3" in proc.stdout
