"""Benchmarks must keep running (no timing asserts: speed is reported, not tested)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_runtime_overhead_benchmark_runs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "runtime_overhead.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fan-out/fan-in" in proc.stdout and "ratio" in proc.stdout
