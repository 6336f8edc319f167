"""``molexp sweep`` through the real CLI: grid x replicas, a repeated sweep adds nothing and
re-runs only failed cells, bad keys and values exit 2 before any run exists."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROFILE = """\
[defaults]
temperature = 1.0
seed = 3

[defaults.md]
steps = 10
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(HERE / "toy_workflow.py", tmp_path / "toy_workflow.py")
    (tmp_path / "molexp.toml").write_text(PROFILE)
    return tmp_path


def _molexp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_sweep_creates_runs_and_a_repeat_resumes_only_failed_cells(project: Path) -> None:
    args = ("sweep", "toy_workflow.py", "--grid", "temperature=1.0,9", "--replicas", "2")
    first = _molexp(project, *args, "--parallel", "2")
    assert first.returncode == 1, first.stderr  # the temperature=9 cell fails
    assert (
        "2 cells x 2 replicas = 4 runs in default/toy (4 new, 0 already succeeded, 4 to run)"
        in (first.stdout)
    )
    assert "2 succeeded, 2 failed" in first.stdout
    assert "energy: RuntimeError: too hot: 9" in first.stdout
    listed = _molexp(project, "runs", "list", "--json")
    runs = json.loads(listed.stdout)
    assert len(runs) == 4
    params = sorted(
        (r["params"]["temperature"], r["params"]["replica"], r["params"]["seed"]) for r in runs
    )
    assert params == [(1.0, 0, 3), (1.0, 1, 4), (9, 0, 3), (9, 1, 4)]
    second = _molexp(project, *args)
    assert second.returncode == 1
    assert "(0 new, 2 already succeeded, 2 to run)" in second.stdout
    assert "0 succeeded, 2 failed, 2 already succeeded" in second.stdout
    assert len(json.loads(_molexp(project, "runs", "list", "--json").stdout)) == 4
    compare = _molexp(project, "runs", "compare", "--experiment", "toy")
    assert compare.returncode == 0, compare.stderr
    assert "1.0          2  -3.465 ± 0.005" in compare.stdout  # replicas: mean ± standard error


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--grid", "temprature=1,2"],
            "--grid temprature: unknown config key in {toml}; did you mean 'temperature'?",
        ),
        (
            ["--grid", "md.steps=1,abc"],
            "--grid md.steps='abc': expected int (declared in {toml} as 10), got str",
        ),
        (
            ["--grid", "temperature=1", "-s", "md.stps=5"],
            "-s md.stps: unknown config key in {toml}; did you mean 'md.steps'?",
        ),
        (
            ["--zip", "temperature=1,2", "--zip", "seed=1"],
            "zipped keys must have the same number of values: temperature has 2, seed has 1",
        ),
        (["--grid", "temperature=1", "--replicas", "0"], "--replicas must be a positive integer"),
        ([], "give the parameter space: --grid KEY=V1,V2 (and/or --zip KEY=V1,V2)"),
    ],
)
def test_bad_sweeps_exit_2_with_one_line_and_create_nothing(
    project: Path, extra: list[str], message: str
) -> None:
    proc = _molexp(project, "sweep", "toy_workflow.py", *extra)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: {message.format(toml='molexp.toml')}\n"
    assert not (project / "molexp-workspace" / "projects").exists()
