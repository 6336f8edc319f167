"""Producer attribution under concurrency: every asset names the task that wrote it."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import RunContext, Workspace

TASKS = 50
SAVES = 6


def _check(ws: Workspace, run_id: str, *, workflow: str | None) -> None:
    assets = ws.catalog.query_assets(run=run_id)
    assert len(assets) == TASKS * (SAVES + 2)  # artifacts + one log + one checkpoint each
    for i in range(TASKS):
        task = f"t{i:02d}"
        mine = ws.catalog.query_assets(producer_task=task)
        assert len(mine) == SAVES + 2, task
        for asset in mine:
            assert asset.producer is not None and asset.producer.task_id == task
            assert asset.producer.workflow == workflow and asset.producer.run_id == run_id
            if asset.kind == "artifact":
                assert asset.load()["task"] == task  # the content agrees with the attribution
        log = next(a for a in mine if a.kind == "log")
        assert log.read_text().splitlines() == [f"{task} {j}" for j in range(SAVES)]


async def _task_body(rc: RunContext, i: int) -> None:
    task = f"t{i:02d}"
    binding = rc.bind_task(task, workflow="direct")
    log = binding.log(task)
    for j in range(SAVES):
        binding.artifact.save(f"{task}/{j}.json", {"task": task, "j": j})
        log.append(f"{task} {j}")
        await asyncio.sleep(random.random() / 1000)  # interleave with the other tasks
    binding.checkpoint(task, data={"task": task})
    binding.set_result(task, i)


def test_fifty_asyncio_tasks(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        async with run.start() as rc:
            await asyncio.gather(*(_task_body(rc, i) for i in range(TASKS)))

    asyncio.run(main())
    _check(ws, run.id, workflow="direct")
    assert run.results == {f"t{i:02d}": i for i in range(TASKS)}


def test_fifty_threads(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc, ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda i: asyncio.run(_task_body(rc, i)), range(TASKS)))
    _check(ws, run.id, workflow="direct")
    assert len(run.results) == TASKS


class Root(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 0


class Saver(Task):
    async def execute(self, ctx: TaskContext[Any, Any, int]) -> str:
        task = ctx.task_id
        assert task is not None
        log = ctx.log(task)
        for j in range(SAVES):
            ctx.artifact.save(f"{task}/{j}.json", {"task": task, "j": j})
            log.append(f"{task} {j}")
            await asyncio.sleep(random.random() / 1000)
        ctx.checkpoint(task, data={"task": task})
        ctx.set_result(task, ctx.config["scale"])
        return task


def test_fifty_concurrent_tasks_through_the_runtime(ws: Workspace) -> None:
    wf = Workflow("fan-out")
    root = wf.add(Root())
    for i in range(TASKS):
        wf.add(Saver(), after=root, name=f"t{i:02d}")
    run = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        async with run.start(profile={"scale": 2}) as rc:
            result = await WorkflowRuntime().execute(wf, config=rc.config, run_context=rc)
            result.raise_for_status()

    asyncio.run(main())
    _check(ws, run.id, workflow="fan-out")
    assert run.results == {f"t{i:02d}": 2 for i in range(TASKS)}
