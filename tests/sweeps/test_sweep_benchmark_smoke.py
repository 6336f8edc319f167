"""The sweep benchmark keeps running (speed is reported, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sweep_benchmark_runs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sweeps.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for label in ("create 40 runs", "repeat the sweep", "runs compare over 40 runs"):
        assert label in proc.stdout
