"""`molexp run --dask ADDRESS [--dask-label L]` against the test cluster, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Not importable by the workers except through the folder --dask puts on their sys.path.
FLOW = """
from molexp import Task, TaskContext, Workflow


def where() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except ValueError:
        return "local"


class Probe(Task[TaskContext[None, None, object], str]):
    async def execute(self, ctx: TaskContext[None, None, object]) -> str:
        here = where()
        ctx.require_run().log("probe").append(f"{ctx.task_id} on {here}")
        ctx.require_run().artifact.save(f"{ctx.task_id}.txt", here)
        ctx.set_result(ctx.task_id, here)
        return here


wf = Workflow("spread")
light = wf.add(Probe(), name="light")
heavy = wf.add(Probe(), after=light, name="heavy", executor="heavy")
"""


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dask_cli")
    (folder / "dask_cli_flow.py").write_text(textwrap.dedent(FLOW))
    return folder


def molexp(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
    )


def run_json(workspace: Path) -> dict[str, Any]:
    [found] = list(workspace.glob("projects/*/experiments/*/runs/*/run.json"))
    doc: dict[str, Any] = json.loads(found.read_text())
    results = found.with_name("results.jsonl")  # set_result values are appended here
    for line in results.read_text().splitlines() if results.exists() else ():
        entry = json.loads(line)
        doc["results"][entry["key"]] = entry["value"]
    return doc


def test_every_task_on_dask(client: Any, flow: Path) -> None:
    address = client.scheduler.address
    proc = molexp("run", "dask_cli_flow.py", "--workspace", "ws1", "--dask", address, cwd=flow)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"tasks on Dask at {address}: all" in proc.stdout
    assert "by heavy" in proc.stdout and "by light" in proc.stdout  # assets listed by producer
    doc = run_json(flow / "ws1")
    assert doc["status"] == "succeeded"
    assert doc["results"]["light"].startswith("tcp://")
    assert doc["results"]["heavy"].startswith("tcp://")


def test_only_labelled_tasks_on_dask(client: Any, flow: Path) -> None:
    address = client.scheduler.address
    proc = molexp(
        "run",
        "dask_cli_flow.py",
        "--workspace",
        "ws2",
        "--dask",
        address,
        "--dask-label",
        "heavy",
        cwd=flow,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"tasks on Dask at {address}: [heavy]" in proc.stdout
    results = run_json(flow / "ws2")["results"]
    assert results["light"] == "local" and results["heavy"].startswith("tcp://")


def test_dask_usage_errors_create_no_run(client: Any, flow: Path) -> None:
    proc = molexp(
        "run", "dask_cli_flow.py", "--workspace", "ws3", "--dask-label", "heavy", cwd=flow
    )
    assert proc.returncode == 2 and "--dask-label needs --dask ADDRESS" in proc.stderr
    address = client.scheduler.address
    proc = molexp(
        "run",
        "dask_cli_flow.py",
        "--workspace",
        "ws3",
        "--dask",
        address,
        "--dask-label",
        "hevy",
        cwd=flow,
    )
    assert proc.returncode == 2
    assert "--dask-label hevy: no task of workflow 'spread' has that executor label" in proc.stderr
    proc = molexp(
        "run",
        "dask_cli_flow.py",
        "--workspace",
        "ws3",
        "--dask",
        "tcp://127.0.0.1:9",
        cwd=flow,
        DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s",
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--dask tcp://127.0.0.1:9: cannot reach the Dask scheduler" in proc.stderr
    assert not list((flow / "ws3").glob("projects/*/experiments/*/runs/*"))
