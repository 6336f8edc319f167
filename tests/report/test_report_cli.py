"""``molexp report`` through the real CLI: what it writes, and its input errors (exit 2,
one line, nothing written)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from molexp.workspace import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "ws"
    ws = Workspace(root)
    experiment = ws.project("p").experiment("scan")
    for temperature in (300, 400):
        run = experiment.add_run({"temperature": temperature}, run_id=f"run-{temperature}")
        with run.start() as rc:
            rc.set_result("energy", -temperature / 100)
    ws.close()
    return root


def _report(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", "report", *args, "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_run_by_prefix_and_an_experiment(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    proc = _report(workspace, "run-3", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "<title>run run-300 · molexp report</title>" in html
    assert 'data-run="run-300"' in html and 'data-run="run-400"' not in html
    proc = _report(workspace, "--experiment", "scan", "-o", str(tmp_path / "all.html"))
    assert proc.returncode == 0, proc.stderr
    assert "2 run(s), 1 plot(s)" in proc.stdout  # energy against temperature
    html = (tmp_path / "all.html").read_text()
    assert 'data-result="energy" data-param="temperature"' in html
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "error: report needs a RUN or --experiment E (one of the two)"),
        (("run-300", "--experiment", "scan"), "error: report needs a RUN or --experiment E"),
        (("nope",), "error: no run 'nope' (no run id starts with it)"),
        (("run-",), "error: run 'run-' is ambiguous: 2 runs start with it"),
        (("--experiment", "other"), "error: no runs in experiment 'other'"),
        (("latest", "--workflow", "missing.py"), "missing.py"),
    ],
)
def test_input_errors_exit_2_and_write_nothing(
    workspace: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "r.html"
    proc = _report(workspace, *args, "-o", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_output_is_a_folder_or_workspace_missing(workspace: Path, tmp_path: Path) -> None:
    proc = _report(workspace, "latest", "-o", str(tmp_path))
    assert proc.returncode == 2 and "is a folder; give a file name" in proc.stderr
    proc = _report(tmp_path / "nowhere", "latest", "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 2 and "no workspace at" in proc.stderr


def test_import_molexp_does_not_import_the_report_libraries() -> None:
    """Neither ``import molexp`` nor the CLI's parser nor ``import molexp.report`` loads
    jinja2 or matplotlib: only building a report does."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, molexp, molexp.cli.main; molexp.cli.main.build_parser(); "
            "import molexp.report; "
            "print(sorted(m for m in ('jinja2', 'matplotlib') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
