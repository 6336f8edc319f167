"""Resume after SIGKILL at random points: ``molexp run`` / ``molexp run --resume`` in real
subprocesses, killed with SIGKILL 20+ times. After every process: it executed no task whose
output was durably stored before it started, every output it recorded as computed it did
compute, it reused only stored outputs; every run finally succeeds with the right value."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKFLOW = """
from __future__ import annotations

import asyncio
import os

import attrs

from molexp import Task, TaskContext, Workflow


def _mark(task_id: str) -> None:
    fd = os.open(os.environ["MARKS"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, f"{task_id} {os.getpid()}\\n".encode())
    finally:
        os.close(fd)


@attrs.frozen
class Value:
    n: int


class Root(Task[TaskContext[None, None, None], Value]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Value:
        _mark(ctx.task_id)
        await asyncio.sleep(0.05)
        return Value(1)


@attrs.frozen
class Add(Task[TaskContext[None, None, Value], Value]):
    k: int

    async def execute(self, ctx: TaskContext[None, None, Value]) -> Value:
        _mark(ctx.task_id)
        assert type(ctx.inputs) is Value
        await asyncio.sleep(0.03 + 0.01 * (self.k % 5))
        return Value(ctx.inputs.n * 2 + self.k)


class Total(Task[TaskContext[None, None, list[Value]], int]):
    async def execute(self, ctx: TaskContext[None, None, list[Value]]) -> int:
        _mark(ctx.task_id)
        await asyncio.sleep(0.05)
        return sum(v.n for v in ctx.inputs)


wf = Workflow("killable")
root = wf.add(Root())
ends = []
for i in range(6):
    a = wf.add(Add(i), after=root, name=f"a{i}")
    b = wf.add(Add(10 + i), after=a, name=f"b{i}")
    ends.append(wf.add(Add(20 + i), after=b, name=f"c{i}"))
total = wf.add(Total(), after=ends)
"""

TASKS = {"root", "total"} | {f"{x}{i}" for x in "abc" for i in range(6)}
EXPECTED = sum(((1 * 2 + i) * 2 + 10 + i) * 2 + 20 + i for i in range(6))
KILLS = 20


def _records(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "tasks.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line: not durable
    return out


def _marks(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():  # a line being written is skipped
            pairs.append((parts[0], int(parts[1])))
    return pairs


class _Loop:
    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "killable.py").write_text(WORKFLOW)
        self.tmp_path = tmp_path
        self.marks = tmp_path / "marks.txt"
        self.env = {**os.environ, "MARKS": str(self.marks), "PYTHONUNBUFFERED": "1"}
        self.ws = tmp_path / "ws"
        self.kills = self.completed = self.processes = self.mid_run = 0
        self.run_dir: Path | None = None
        self.experiment = "e0"

    def process(self, kill_after: float | None, *, from_first_task: bool = False) -> None:
        """One ``molexp run`` (or ``--resume``), SIGKILLed after ``kill_after`` seconds
        (counted from its first task's start with ``from_first_task``)."""
        ws, run_dir = self.ws, self.run_dir
        argv = ["run", "killable.py", "--workspace", str(ws)]
        if run_dir is None:
            argv += ["--experiment", self.experiment]
        else:
            argv += ["--resume", run_dir.name]
        before = _records(run_dir) if run_dir is not None else []
        stored_before = {r["task"] for r in before if r.get("event") == "output"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "molexp", *argv],
            cwd=self.tmp_path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.processes += 1
        killed = False
        if kill_after is not None:
            if from_first_task:
                give_up = time.monotonic() + 60
                while proc.poll() is None and time.monotonic() < give_up:
                    if any(pid == proc.pid for _, pid in _marks(self.marks)):
                        break
                    time.sleep(0.005)
            deadline = time.monotonic() + kill_after
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                self.kills += 1
        output = proc.communicate(timeout=120)[0].decode()
        if run_dir is None:
            runs = ws / "projects/default/experiments" / self.experiment / "runs"
            found = [d for d in runs.glob("*") if (d / "run.json").exists()]
            if not found:  # killed before the run existed: start one afresh
                self.experiment += "x"
                return
            run_dir = self.run_dir = found[0]
        after = _records(run_dir)
        attempt_records = after[len(before) :]
        executed = {task for task, pid in _marks(self.marks) if pid == proc.pid}
        # 1. nothing durably stored before this process was executed again by it
        assert not (executed & stored_before), (executed & stored_before, output)
        # 2. every output this process recorded as computed, it computed
        computed = {
            r["task"] for r in attempt_records if r.get("event") == "output" and "source" not in r
        }
        assert computed <= executed, (computed - executed, output)
        # 3. it reused only outputs stored before it started
        reused = {r["task"] for r in attempt_records if r.get("event") == "reused"}
        assert reused <= stored_before, (reused - stored_before, output)
        stored_after = {r["task"] for r in after if r.get("event") == "output"}
        if killed and stored_before < stored_after < TASKS:
            self.mid_run += 1  # killed with some outputs stored and some not
        status = json.loads((run_dir / "run.json").read_text())["status"]
        if killed and status == "succeeded":
            killed = False  # killed after the run had succeeded (printing its summary)
        if not killed:
            assert proc.returncode in (0, -signal.SIGKILL), output
            assert status == "succeeded", output
            final = {r["task"]: r for r in after if r.get("event") == "output"}
            assert set(final) == TASKS  # never skipped: every task has its output
            assert final["total"]["inline"] == EXPECTED
            assert TASKS - stored_before <= executed, output  # the rest ran in it
            assert reused == stored_before  # and everything stored was reused
            self.completed += 1
            self.run_dir = None
            self.experiment = f"e{self.completed}"


def test_resume_after_sigkill_never_reruns_a_stored_task_nor_skips_an_unstored_one(
    tmp_path: Path,
) -> None:
    loop = _Loop(tmp_path)
    rng = random.Random(1313)
    while loop.kills < KILLS:
        if rng.random() < 0.25:  # anywhere: while starting, creating the run, ...
            loop.process(kill_after=rng.uniform(0.05, 1.2))
        else:  # while tasks run and store their outputs
            loop.process(kill_after=rng.uniform(0.0, 0.35), from_first_task=True)
    if loop.run_dir is not None:
        loop.process(kill_after=None)  # the last killed run, resumed to the end
    assert loop.completed >= 1 and loop.processes > KILLS
    assert loop.mid_run >= KILLS // 2, loop.mid_run  # the kills did land inside runs
    print(f"kills {loop.kills}, mid-run {loop.mid_run}, runs completed {loop.completed}")
