"""run.json records how an execution went (``execution``: molexp version, graph fingerprint,
git commit, per-task status/duration/attempt) and ``runs show`` prints the resolved config
with the ``-s`` keys marked, and per-task times (real subprocesses, a real git repository)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from molexp._version import __version__

FLOW = """
from molexp import Task, TaskContext, Workflow


class Prepare(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        return int(ctx.config["md"]["steps"])


class Simulate(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        if ctx.config.get("explode"):
            raise RuntimeError("boom")
        return ctx.inputs * 2


class Report(Task[TaskContext[None, None, int], None]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> None:
        ctx.set_result("doubled", ctx.inputs)


wf = Workflow("recorded")
prepare = wf.add(Prepare())
simulate = wf.add(Simulate(), after=prepare)
wf.add(Report(), after=simulate)
"""
PROFILE = "[defaults]\nexplode = false\ntemperature = 1.0\nmd = { steps = 10, dt = 0.5 }\n"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "molexp.toml").write_text(PROFILE)
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "flow.py", "molexp.toml"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "flow"],
    ):
        assert _run(*command, cwd=tmp_path).returncode == 0
    return tmp_path


def _run_json(repo: Path, stdout: str) -> dict[str, object]:
    rid = re.search(r"molexp runs show (\S+)", stdout)
    assert rid, stdout
    [path] = repo.glob(f"molexp-workspace/projects/*/experiments/*/runs/{rid.group(1)}/run.json")
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_run_json_records_the_execution_and_runs_show_prints_it(repo: Path) -> None:
    molexp = (sys.executable, "-m", "molexp")
    proc = _run(*molexp, "run", "flow.py", "-s", "md.steps=21", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = _run_json(repo, proc.stdout)
    execution = doc["execution"]
    assert isinstance(execution, dict)
    head = _run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    sys.path.insert(0, str(repo))
    try:
        from flow import wf  # type: ignore[import-not-found]

        from molexp.workflow.fingerprint import wiring_fingerprint

        fingerprint = wiring_fingerprint(wf)
    finally:
        sys.path.remove(str(repo))
        sys.modules.pop("flow", None)
    assert execution["molexp_version"] == __version__
    assert execution["git_commit"] == head
    assert execution["graph_fingerprint"] == fingerprint
    assert execution["workflow"] == "recorded" and execution["attempt"] == 1
    tasks = execution["tasks"]
    assert sorted(tasks) == ["prepare", "report", "simulate"]
    assert all(t["status"] == "succeeded" and t["attempt"] == 1 for t in tasks.values())
    assert all(isinstance(t["duration"], float) for t in tasks.values())
    assert doc["overrides"] == {"md.steps": 21}

    show = _run(*molexp, "runs", "show", "latest", cwd=repo)
    assert show.returncode == 0, show.stderr
    lines = show.stdout.splitlines()
    start = lines.index("config (* set by -s or the sweep cell):")
    assert lines[start + 1 : start + 5] == [
        "  explode = false",
        "  md.dt = 0.5",
        "  md.steps = 21 *",
        "  temperature = 1.0",
    ]
    assert f"git {head}" in show.stdout and f"graph {fingerprint}" in show.stdout
    assert re.search(r"^  simulate  succeeded +\d+\.\d{3} s  \(attempt 1\)$", show.stdout, re.M)


def test_a_failed_run_records_which_task_failed_and_what_never_started(repo: Path) -> None:
    proc = _run(sys.executable, "-m", "molexp", "run", "flow.py", "-s", "explode=true", cwd=repo)
    assert proc.returncode == 1
    tasks = _run_json(repo, proc.stdout)["execution"]["tasks"]  # type: ignore[index]
    assert tasks["prepare"]["status"] == "succeeded"
    assert tasks["simulate"]["status"] == "failed"
    assert tasks["report"] == {"status": "not started", "duration": None, "attempt": None}
