"""``molexp check`` on a stale generated module ends with the stale verdict, not mypy's
"Success" (which checked the stale contexts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "tests" / "codegen" / "cases" / "cg_chain"


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_stale_check_ends_with_the_stale_verdict(tmp_path: Path) -> None:
    shutil.copytree(CASE, tmp_path / "cg_chain", ignore=shutil.ignore_patterns("__pycache__"))
    assert molexp("gen", "cg_chain/workflow.py", cwd=tmp_path).returncode == 0
    workflow = tmp_path / "cg_chain" / "workflow.py"
    text = workflow.read_text()
    assert "after=simulate)" in text
    workflow.write_text(text.replace("after=simulate)", 'after=simulate, name="analysis")'))
    proc = molexp(
        "check", "cg_chain/workflow.py", f"--mypy-arg=--cache-dir={tmp_path / 'c'}", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "Success: no issues found" in proc.stdout  # mypy passed on the old contexts...
    assert lines[-1] == (  # ...but the verdict, last, is that the module is stale
        "molexp check: stale: cg_chain/workflow_contexts.py is stale, "
        "cg_chain/workflow_edges.py is stale; mypy above checked the files as they are, "
        "not what molexp gen would write; run: molexp gen cg_chain/workflow.py"
    )
