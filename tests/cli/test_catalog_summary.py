"""``molexp catalog rebuild`` prints a readable summary: runs by status, assets by kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from molexp.workspace import Workspace


def test_rebuild_summary_counts_runs_by_status_and_assets_by_kind(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    experiment = ws.project("p").experiment("e")
    for i in range(2):
        with experiment.add_run({"i": i}).start() as rc:
            rc.artifact.save(f"out/{i}.json", {"i": i})
            rc.artifact.save("summary.json", {"i": i})
            rc.log("progress").append("step")
    with pytest.raises(RuntimeError), ws.project("p").experiment("f").add_run().start():
        raise RuntimeError("diverged")
    ws.close()
    proc = subprocess.run(
        [sys.executable, "-m", "molexp", "catalog", "rebuild", "--workspace", "ws"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "catalog rebuilt from the files in ws:",
        "  runs:    3 run(s) in 2 experiment(s): 1 failed, 2 succeeded",
        "  assets:  6 records from 2 manifest(s): 4 artifact, 2 log",
    ]
