"""A large execution runs with the heap frozen (issue 16) and always hands it back."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.runtime.heap import FREEZE_FROM


class SeesFreeze(Task[TaskContext[None, None, Any], int]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        return gc.get_freeze_count()  # O(frozen objects): a few probes per graph only


class Noop(Task[TaskContext[None, None, Any], int]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        await asyncio.sleep(0)
        return -1


class Hang(Task[TaskContext[None, None, Any], None]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> None:
        await asyncio.Event().wait()  # until cancelled


class Boom(Task[TaskContext[None, None, Any], None]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> None:
        raise RuntimeError("boom")


def scan(nodes: int, last: Task[Any, Any] | None = None) -> Workflow[Any, Any, Any]:
    """A root probe, a fan-out of no-ops, a probe at the end (ready last)."""
    wf: Workflow[Any, Any, Any] = Workflow("scan")
    root = wf.add(SeesFreeze(), name="root")
    for i in range(nodes - 2):
        wf.add(Noop(), after=root, name=f"t{i}")
    wf.add(SeesFreeze() if last is None else last, after=root, name="last")
    return wf


def probes(result: Any) -> list[int]:
    return [v for v in result.outputs.values() if v != -1]


def test_a_large_execution_freezes_the_heap_and_unfreezes_it() -> None:
    gc.unfreeze()
    result = asyncio.run(WorkflowRuntime().execute(scan(FREEZE_FROM))).raise_for_status()
    assert min(probes(result)) > 0  # the first and last task ran with the graph frozen
    assert gc.get_freeze_count() == 0


def test_a_small_execution_leaves_the_collector_alone() -> None:
    gc.unfreeze()
    result = asyncio.run(WorkflowRuntime().execute(scan(10))).raise_for_status()
    assert probes(result) == [0, 0]


def test_concurrent_executions_unfreeze_only_when_the_last_one_ends() -> None:
    gc.unfreeze()
    big, small_but_slow = scan(FREEZE_FROM), scan(FREEZE_FROM + 1)

    async def both() -> tuple[Any, Any]:
        return await asyncio.gather(
            WorkflowRuntime().execute(big),
            WorkflowRuntime(max_concurrency=1).execute(small_but_slow),
        )

    first, second = asyncio.run(both())
    # the second (one task at a time) outlives the first; its last tasks still saw a freeze
    assert min(probes(second)) > 0 and min(probes(first)) > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("how", ["failure", "cancel"])
def test_the_heap_is_unfrozen_after_a_failure_or_a_cancellation(how: str) -> None:
    gc.unfreeze()
    wf = scan(FREEZE_FROM, last=Boom() if how == "failure" else Hang())

    async def go() -> None:
        run = asyncio.ensure_future(WorkflowRuntime().execute(wf))
        if how == "cancel":
            await asyncio.sleep(0.01)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
        else:
            assert not (await run).ok

    asyncio.run(go())
    assert gc.get_freeze_count() == 0
