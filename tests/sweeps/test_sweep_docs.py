"""docs/sweeps.md's commands run as written (on the Lennard-Jones example), and the error
lines it shows are what the CLI prints."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sweeps.md"


def _molexp(args: list[str], workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env={**os.environ, "MOLEXP_WORKSPACE": str(workspace)},
    )


def test_documented_sweep_commands_run(tmp_path: Path) -> None:
    block = re.search(r"^```bash\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert block is not None
    commands = [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]
    assert [c[:2] for c in commands] == [["molexp", "sweep"], ["molexp", "runs"]]
    sweep = _molexp(commands[0][1:], tmp_path / "ws")
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    assert "3 cells x 2 replicas = 6 runs" in sweep.stdout
    assert "6 succeeded, 0 failed" in sweep.stdout
    compare = _molexp(commands[1][1:], tmp_path / "ws")
    assert compare.returncode == 0, compare.stderr
    summary = compare.stdout.split("mean ± standard error\n")[1].splitlines()
    assert [row.split()[:2] for row in summary[1:]] == [["1.0", "2"], ["1.5", "2"], ["2.0", "2"]]
    again = _molexp(commands[0][1:], tmp_path / "ws")
    assert "(0 new, 6 already succeeded, 0 to run)" in again.stdout


def test_documented_error_lines_are_what_the_cli_prints(tmp_path: Path) -> None:
    text = DOC.read_text()
    for grid in ("temprature=1.0", "equilibration.sweeps=many"):
        proc = _molexp(["sweep", "examples/lj_fluid/workflow.py", "--grid", grid], tmp_path / "ws")
        assert proc.returncode == 2
        line = proc.stderr.strip()
        assert line.startswith("error: --grid ") and line in text, line
