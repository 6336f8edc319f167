"""The console script, driven in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import molexp


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"molexp {molexp.__version__}"


def test_help() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0 and "usage: molexp" in proc.stdout
    bare = run_cli()
    assert bare.returncode == 0 and "usage: molexp" in bare.stdout


def test_unknown_command_is_a_usage_error() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_console_script_is_installed() -> None:
    # Next to this interpreter (its scripts folder), whatever PATH holds.
    exe = Path(sysconfig.get_path("scripts")) / ("molexp.exe" if os.name == "nt" else "molexp")
    assert exe.is_file(), f"no molexp console script in {exe.parent} (pip install -e .)"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "molexp" in proc.stdout


def test_sdk_import_does_not_pull_generator_dependencies() -> None:
    heavy = ("jinja2", "mypy", "dask", "distributed", "cloudpickle", "numpy", "ase")
    code = (
        "import sys, molexp, molexp.cli.main, molexp.executors, molexp.workspace, "
        "molexp.codecs; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
