"""A tracked run's status follows its workflow, whether or not the caller raises."""

from __future__ import annotations

import asyncio

import pytest

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import Workspace


class Explode(Task):
    async def execute(self, ctx: TaskContext) -> None:
        raise ZeroDivisionError("step 3 divided by zero")


class Hang(Task):
    def __init__(self, started: asyncio.Event | None = None) -> None:
        self.started = started

    async def execute(self, ctx: TaskContext) -> None:
        if self.started is not None:
            self.started.set()
        await asyncio.sleep(3600)


class Fine(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 1


def flow(task: Task, name: str = "t") -> Workflow:
    wf: Workflow = Workflow("flow")
    wf.add(Fine(), name="first")
    wf.add(task, name=name)
    return wf


def test_a_failed_workflow_fails_the_run_when_the_caller_does_not_raise(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        async with run.start() as rc:
            result = await WorkflowRuntime().execute(flow(Explode(), "md"), run_context=rc)
            assert result.status == "failed"  # and the block carries on without raising

    asyncio.run(main())
    assert run.status == "failed"
    error = run.error
    assert error is not None
    assert (error.task_id, error.type, error.message) == (
        "md",
        "ZeroDivisionError",
        "step 3 divided by zero",
    )
    assert error.traceback is not None and "step 3 divided by zero" in error.traceback
    assert ws.catalog.query_runs(status="failed")[0].id == run.id


def test_the_first_failure_is_kept_when_a_later_execution_succeeds(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        asyncio.run(WorkflowRuntime().execute(flow(Explode(), "bad"), run_context=rc))
        asyncio.run(WorkflowRuntime().execute(flow(Fine(), "good"), run_context=rc))
    assert run.status == "failed"
    assert run.error is not None and run.error.task_id == "bad"


def test_rc_fail_replaces_the_recorded_failure(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        asyncio.run(WorkflowRuntime().execute(flow(Explode(), "bad"), run_context=rc))
        rc.fail("the analysis found no minimum", task_id="analysis")
    assert run.status == "failed"
    assert run.error is not None and run.error.task_id == "analysis"


def test_a_cancelled_execution_cancels_the_run_when_the_caller_swallows_it(
    ws: Workspace,
) -> None:
    run = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        started = asyncio.Event()
        async with run.start() as rc:
            job = asyncio.create_task(
                WorkflowRuntime().execute(flow(Hang(started), "md"), run_context=rc)
            )
            await started.wait()
            job.cancel()
            with pytest.raises(asyncio.CancelledError):
                await job
            # swallowed: the block ends normally

    asyncio.run(main())
    assert run.status == "cancelled"
    assert run.error is not None and run.error.type == "asyncio.exceptions.CancelledError"


def test_an_exception_out_of_execute_fails_the_run_even_if_caught(ws: Workspace) -> None:
    wf: Workflow[None, None, int] = Workflow("needs-input", input=int)
    wf.add(Fine())
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        with pytest.raises(TypeError, match="no inputs="):
            asyncio.run(WorkflowRuntime().execute(wf, run_context=rc))
    assert run.status == "failed"
    assert run.error is not None and run.error.type == "TypeError"


def test_a_successful_workflow_leaves_the_run_succeeded(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        result = asyncio.run(WorkflowRuntime().execute(flow(Fine(), "ok"), run_context=rc))
    assert result.ok and run.status == "succeeded" and run.error is None
