"""benchmarks/cache.py keeps running (speed is reported, not tested)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cache_benchmark_runs_quick() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cache.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for expected in ("cache key + lookup", "when every task hits", "digest of a", "resume of a"):
        assert expected in proc.stdout, proc.stdout
