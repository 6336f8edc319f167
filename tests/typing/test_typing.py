"""Run real type checkers on the typed samples.

positive_*.py: `assert_type` cases that must pass cleanly.
negative_*.py: each `# type: ignore[code]` pins an error that must happen (mypy's
warn_unused_ignores and pyright's reportUnnecessaryTypeIgnoreComment turn a vanished
error into a failure; mypy also fails when the error code differs).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PIN = re.compile(r"\s+# type: ignore\[[\w-]+(?:, *[\w-]+)*\]$")
SAMPLES = sorted((HERE / "samples").glob("*.py"))


def test_mypy_strict_on_samples(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--warn-unused-ignores",
            "--cache-dir",
            str(tmp_path / "cache"),
            *map(str, SAMPLES),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_basedpyright_strict_on_samples() -> None:
    if importlib.util.find_spec("basedpyright") is None:
        pytest.fail("basedpyright is a dev dependency: pip install -e '.[dev]'")
    proc = subprocess.run(  # this interpreter's basedpyright, not the first on PATH
        [sys.executable, "-m", "basedpyright", "-p", str(HERE / "pyrightconfig.json")]
        + list(map(str, SAMPLES)),
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "0 errors" in proc.stdout, proc.stdout + proc.stderr


def test_mypy_strict_on_the_sdk_generator_and_examples(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "molexp",
            "codegen/molexp_codegen",
            "examples",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_negative_samples_really_fail_without_their_pins(tmp_path: Path) -> None:
    """Strip the pins: mypy must then report one error per pinned line."""
    for sample in (s for s in SAMPLES if s.name.startswith("negative_")):
        text = sample.read_text()
        pinned = [n for n, line in enumerate(text.splitlines(), 1) if PIN.search(line)]
        stripped = tmp_path / sample.name
        stripped.write_text("\n".join(PIN.sub("", line) for line in text.splitlines()) + "\n")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--cache-dir",
                str(tmp_path / "cache"),
                str(stripped),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        error_lines = sorted(
            {int(line.split(":")[1]) for line in proc.stdout.splitlines() if ": error:" in line}
        )
        assert error_lines == pinned, proc.stdout
