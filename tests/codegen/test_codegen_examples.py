"""The committed typed example: its generated contexts and stubs are current, it passes
mypy --strict, and it runs. This is what a reusable workflow module's CI would gate on."""

from __future__ import annotations

import subprocess
import sys

from codegen_helpers import REPO, molexp, run_mypy, subprocess_env


def test_generated_contexts_are_current() -> None:
    proc = molexp(
        "gen", "--check", "examples/typed/workflow.py", "examples/typed/stream.py", cwd=REPO
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stubs_are_current() -> None:
    proc = molexp("gen", "--check", "examples/typed/lj_scan.py", "--stubs", "stubs", cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_example_passes_mypy_strict() -> None:
    errors = run_mypy([REPO / "examples" / "typed"], cwd=REPO, mypy_path=[REPO / "stubs"])
    assert errors == []


def test_example_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "examples/typed/run.py"],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lj-cluster: minimum" in proc.stdout
    assert "lj-scan: minimum at r = 1.12" in proc.stdout
    assert "langevin-stream: 20000 frames, <U> = " in proc.stdout
    assert "(ok)" in proc.stdout


def test_codegen_benchmark_runs_quick() -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/codegen.py", "--quick"],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "linearity" in proc.stdout and "mypy --strict on 100 tasks" in proc.stdout
