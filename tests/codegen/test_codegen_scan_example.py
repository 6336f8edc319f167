"""The scan example (a map of a reusable relax sub-workflow): its generated modules are
current, and it gives the same summary in memory and on worker processes."""

from __future__ import annotations

import subprocess
import sys

from codegen_helpers import REPO, molexp, subprocess_env


def test_scan_example_generated_modules_are_current() -> None:
    proc = molexp("gen", "--check", "examples/scan/relax.py", "examples/scan/workflow.py", cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_scan_example_runs_the_same_on_processes() -> None:
    proc = subprocess.run(
        [sys.executable, "examples/scan/run.py"],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lowest at density 0.80; the same on 2 processes: True" in proc.stdout
