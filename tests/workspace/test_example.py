"""The seed's runnable example: every workspace helper inside one tracked run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from molexp.workspace import RunStatus, Workspace

from .conftest import REPO, python_env

EXAMPLE = REPO / "examples" / "workflow" / "task_context.py"


def test_task_context_example_runs_and_records(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), str(root)],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "succeeded, profile 'quick'" in out
    assert "each `previous` points one back: True" in out
    assert "find_asset('forcefield/argon.json') -> project scope, v1" in out
    ws = Workspace(root)
    [run] = ws.catalog.query_runs()
    assert run.status is RunStatus.SUCCEEDED
    assert set(run.results) == {"final_energy", "baseline_energy", "mean_energy"}
    producers = {(a.name, a.producer.task_id) for a in run.assets() if a.producer}
    assert ("system.json", "prepare") in producers and ("report.json", "report") in producers
    assert {a.version for a in run.assets("artifact") if a.name == "report.json"} == {1, 2}
    assert len(run.assets("checkpoint")) == 4
    assert [log.line_count for log in ws.catalog.query_assets(kind="log", name="md/thermo")] == [40]
    assert run.verify_files() == []
