"""benchmarks/map.py keeps running (speed is reported, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_map_benchmark_runs_quick() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's molexp
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "map.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wf.map µs" in proc.stdout and "ProcessExecutor(2)" in proc.stdout
    assert "raw client.map" in proc.stdout
