"""`molexp run --workers N`: a mapped scan whose size comes from the profile, its elements
in worker processes, attributed per element. The real console script, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOW = """
from __future__ import annotations

import os

from molexp import Task, TaskContext, Workflow


class Generate(Task[TaskContext[None, None, None], list[int]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[int]:
        return list(range(int(ctx.config.get("count", 2))))


class Relax(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        if ctx.artifact is not None:
            ctx.artifact.save(f"pid_{ctx.inputs}.txt", str(os.getpid()).encode())
        return ctx.inputs * 10


class Total(Task[TaskContext[None, None, list[int]], int]):
    async def execute(self, ctx: TaskContext[None, None, list[int]]) -> int:
        ctx.set_result("total", sum(ctx.inputs))
        return sum(ctx.inputs)


wf = Workflow("scan")
relaxed = wf.map(Relax(), over=wf.add(Generate()), executor=LABEL)
wf.add(Total(), after=relaxed)
"""


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("label", [None, "cpu"])
def test_workers_run_the_map_elements_in_processes(tmp_path: Path, label: str | None) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW).replace("LABEL", repr(label)))
    (tmp_path / "molexp.toml").write_text("[profiles.big]\ncount = 5\n")
    with subprocess.Popen(
        [sys.executable, "-m", "molexp", "run", "flow.py", "--profile", "big", "--workers", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        stdout, stderr = child.communicate(timeout=300)
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    which = "[cpu]" if label else "all"
    assert f"tasks on 2 worker processes: {which}" in proc.stdout
    assert "done    relax[4]" in proc.stdout  # progress names each element
    assert "total = 100" in proc.stdout
    for i in range(5):
        assert f"pid_{i}.txt" in proc.stdout and f"by relax[{i}]" in proc.stdout
    pids = {int(p.read_text()) for p in tmp_path.rglob("pid_*.txt")}
    assert len(pids) in (1, 2) and child.pid not in pids and os.getpid() not in pids


def test_workers_input_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW).replace("LABEL", "None"))
    for args, message in (
        (["--workers", "0"], "--workers must be a positive integer"),
        (["--workers", "2", "--dask", "tcp://127.0.0.1:1"], "--workers and --dask cannot be"),
    ):
        proc = molexp("run", "flow.py", *args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.splitlines() == [
            f"error: {message}" + proc.stderr.split(message)[1].rstrip("\n")
        ]
