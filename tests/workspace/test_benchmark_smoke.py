"""The workspace benchmark keeps running (figures are reported, never asserted)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO, python_env


def test_workspace_benchmark_runs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "workspace.py"), "--quick"],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for figure in (
        "saves/s",
        "lines/s",
        "query_assets(producer_task=)",
        "tracking overhead",
        "ctx.artifact.asave, per task",
    ):
        assert figure in proc.stdout, proc.stdout
