"""The scheduler keeps one worker waiting, not one asyncio task per ready node (issue 16),
and still starts every ready node while others are suspended."""

from __future__ import annotations

import asyncio
from typing import Any

from molexp import Task, TaskContext, Workflow, WorkflowRuntime


class CountsTasks(Task[TaskContext[None, None, Any], int]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        return len(asyncio.all_tasks())


class Suspends(Task[TaskContext[None, None, Any], int]):
    """Every node waits until all of them have started: a deadlock unless all run at once."""

    def __init__(self, gate: dict[str, Any]) -> None:
        self.gate = gate

    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        self.gate["started"] += 1
        if self.gate["started"] == self.gate["expected"]:
            self.gate["event"].set()
        await asyncio.wait_for(self.gate["event"].wait(), timeout=30)
        return len(asyncio.all_tasks())


def fan_out(task: Task[Any, int], width: int) -> Workflow[Any, Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("fan-out")
    root = wf.add(CountsTasks(), name="root")
    for i in range(width):
        wf.add(task, after=root, name=f"t{i}")
    return wf


def test_a_fan_out_of_quick_tasks_runs_on_a_couple_of_workers() -> None:
    result = asyncio.run(WorkflowRuntime().execute(fan_out(CountsTasks(), 2_000)))
    result.raise_for_status()
    # the main task, the worker running the node and at most one waiting worker
    assert max(result.outputs.values()) <= 3, max(result.outputs.values())


def test_suspended_nodes_never_hold_up_ready_ones() -> None:
    async def go() -> Any:
        gate = {"started": 0, "expected": 500, "event": asyncio.Event()}
        return await WorkflowRuntime().execute(fan_out(Suspends(gate), 500))

    result = asyncio.run(go()).raise_for_status()
    assert max(result.outputs.values()) >= 500  # all 500 were suspended together


def test_max_concurrency_still_bounds_suspended_nodes() -> None:
    running = {"now": 0, "peak": 0}

    class Sleeps(Task[TaskContext[None, None, Any], int]):
        async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
            await asyncio.sleep(0.001)
            running["now"] -= 1
            return 0

    asyncio.run(
        WorkflowRuntime(max_concurrency=7).execute(fan_out(Sleeps(), 100))
    ).raise_for_status()
    assert running["peak"] == 7
