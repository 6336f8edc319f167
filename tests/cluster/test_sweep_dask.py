"""`molexp sweep --dask ADDRESS` against the test cluster, in a subprocess: every cell's task
runs on a Dask worker and records into its own run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

FLOW = """
from molexp import Task, TaskContext, Workflow


class Square(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        from distributed import get_worker

        ctx.set_result("worker", str(get_worker().address))
        value = int(ctx.config["x"]) ** 2
        ctx.set_result("square", value)
        return value


wf = Workflow("squares")
wf.add(Square())
"""


def test_sweep_runs_every_cell_on_dask(client: Any, tmp_path: Path) -> None:
    (tmp_path / "sweep_dask_flow.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "molexp.toml").write_text("[defaults]\nx = 0\n")
    address = client.scheduler.address
    proc = subprocess.run(
        [sys.executable, "-m", "molexp", "sweep", "sweep_dask_flow.py", "--grid", "x=1,2,3"]
        + ["--parallel", "3", "--dask", address, "--workspace", "ws"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 succeeded, 0 failed" in proc.stdout
    workers = set(client.scheduler_info()["workers"])
    found = {}
    for path in (tmp_path / "ws").glob("projects/*/experiments/*/runs/*/run.json"):
        params = json.loads(path.read_text())["params"]
        results = {
            entry["key"]: entry["value"]
            for entry in map(json.loads, path.with_name("results.jsonl").read_text().splitlines())
        }
        assert results["worker"] in workers
        found[params["x"]] = results["square"]
    assert found == {1: 1, 2: 4, 3: 9}
