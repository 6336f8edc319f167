"""mypy --strict proves that RunContext/TaskRunBinding are precisely typed and
that the typed helpers (per-kind overloads) infer what the tests assert with assert_type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import REPO

FILES = [
    REPO / "tests" / "workspace" / "test_context_integration.py",
    REPO / "examples" / "workflow" / "task_context.py",
]


def test_mypy_strict_on_the_integration_code(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--warn-unused-ignores",
            "--cache-dir",
            str(tmp_path / "cache"),
            *map(str, FILES),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
