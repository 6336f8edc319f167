"""A workload for the crash test, killed with SIGKILL at random moments.

``python _crash_worker.py ROOT zygote``: import everything once, then for every ``go N`` line
on stdin fork a worker (printing ``pid P``) and, once it is dead, print ``exit P``. Forking
from a warm process lets the suite kill many workers without paying interpreter start-up.
``python _crash_worker.py ROOT once N``: run one worker in this process.

A worker restarts the run ``crashme`` (a new attempt after the previous one was killed) and
executes a workflow whose parallel tasks save artifacts, append to logs, write checkpoints
and set results forever. It prints ``result KEY VALUE`` only after ``set_result`` returned,
and ``artifact NAME`` only after the save (``gamma``: ``asave``) returned.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import Workspace

RUN_ID = "crashme"
OUT = 1  # stdout, unbuffered writes


def emit(line: str) -> None:
    os.write(OUT, (line + "\n").encode())


class Root(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 0


class Busy(Task):
    async def execute(self, ctx: TaskContext[Any, Any, int]) -> None:
        task = ctx.task_id
        round_no = ctx.config["round"]
        log = ctx.log(f"{task}.out")
        j = 0
        while True:
            name = f"{task}/r{round_no}-{j}.json"
            if task == "gamma":  # the group-committed save: durable when the await returns
                await ctx.artifact.asave(name, {"task": task, "j": j})
            else:
                ctx.artifact.save(name, {"task": task, "j": j})
            emit(f"artifact {name}")
            log.append(f"round {round_no} step {j}")
            key = f"{task}:{round_no}:{j}"
            ctx.set_result(key, j)
            emit(f"result {key} {j}")
            if j % 3 == 0:
                ctx.checkpoint(f"{task}-state", data={"round": round_no, "j": j})
            j += 1
            await asyncio.sleep(0)


def build() -> Workflow[Any, Any, Any]:
    wf = Workflow("crashy")
    root = wf.add(Root())
    for name in ("alpha", "beta", "gamma"):
        wf.add(Busy(), after=root, name=name)
    return wf


WORKFLOW = build()


async def work(root: str, round_no: int) -> None:
    ws = Workspace(root)
    emit("begin")
    async with ws.run(RUN_ID).start(profile={"round": round_no}) as rc:
        emit("started")
        result = await WorkflowRuntime().execute(WORKFLOW, config=rc.config, run_context=rc)
        result.raise_for_status()


def main() -> None:
    root, mode = sys.argv[1], sys.argv[2]
    if mode == "once":
        asyncio.run(work(root, int(sys.argv[3])))
        return
    for line in sys.stdin:
        round_no = int(line.split()[1])
        pid = os.fork()
        if pid == 0:
            try:
                asyncio.run(work(root, round_no))
            finally:
                os._exit(0)
        emit(f"pid {pid}")
        os.waitpid(pid, 0)
        emit(f"exit {pid}")


if __name__ == "__main__":
    main()
