"""benchmarks/report.py must keep running (speed is reported, not tested)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_report_benchmark_runs_quick(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--quick", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "report benchmark: 40 runs" in proc.stdout
    assert "molexp report (subprocess)" in proc.stdout and "report size" in proc.stdout
    assert not list(tmp_path.iterdir())  # its workspace is removed
