"""Benchmarks must keep running (no timing asserts: speed is reported, not tested)."""

from __future__ import annotations

import os
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


def test_dask_executor_benchmark_runs_quick() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's molexp
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "dask_executor.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fan-out (all at once)" in proc.stdout and "chain" in proc.stdout
    assert "speed-up" in proc.stdout


def test_codecs_benchmark_runs_quick() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "codecs.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "save (fsync=False) vs np.save to a new file" in proc.stdout
    assert "format=extxyz" in proc.stdout
    assert "peak memory" in proc.stdout


def test_import_time_benchmark_runs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "import_time.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "asyncio (floor)" in proc.stdout and "ratio to asyncio" in proc.stdout
