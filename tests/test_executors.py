"""The executor seam: default, per run and per task (labels) selection, without Dask."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from molexp import (
    Actor,
    ActorContext,
    Executor,
    LocalExecutor,
    Task,
    TaskCall,
    TaskContext,
    Workflow,
    WorkflowDefinitionError,
    WorkflowRuntime,
)


class Recording(Executor):
    """Runs bodies in this process through the seam, recording what it was given."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.events: list[str] = []

    async def prepare(self) -> None:
        self.events.append("prepare")

    async def release(self) -> None:
        self.events.append("release")

    async def run(self, call: TaskCall) -> Any:
        self.calls.append(call.task_id)
        return await call.task.execute(call.context())


class Value(Task):
    def __init__(self, value: int) -> None:
        self.value = value

    async def execute(self, ctx: TaskContext) -> int:
        ctx.set_result(f"ran_{ctx.task_id}", True)
        return self.value + (sum(ctx.inputs.values()) if isinstance(ctx.inputs, dict) else 0)


class Forever(Task):
    async def execute(self, ctx: TaskContext) -> None:
        await asyncio.sleep(30)


class Count(Actor):
    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        yield 1


def diamond(*, label: str | None = None) -> Workflow[Any, Any, Any]:
    wf = Workflow("diamond")
    a = wf.add(Value(1), name="a")
    b = wf.add(Value(2), after=a, name="b", executor=label)
    c = wf.add(Value(3), after=a, name="c")
    wf.add(Value(0), after=[b, c], name="d")
    return wf


def run(wf: Workflow[Any, Any, Any], **kwargs: Any) -> Any:
    return asyncio.run(WorkflowRuntime().execute(wf, **kwargs))


def test_a_run_wide_executor_runs_every_task_and_is_prepared_once() -> None:
    recording = Recording()
    result = run(diamond(), executor=recording)
    assert result.ok and result.outputs == {"a": 1, "b": 2, "c": 3, "d": 5}
    assert sorted(recording.calls) == ["a", "b", "c", "d"]
    assert recording.events == ["prepare", "release"]
    assert result.results == {f"ran_{t}": True for t in "abcd"}


def test_the_runtime_default_executor_and_an_explicit_local_executor() -> None:
    recording = Recording()
    result = asyncio.run(WorkflowRuntime(executor=recording).execute(diamond()))
    assert result.ok and len(recording.calls) == 4
    # LocalExecutor is the inlined default path: same outcome.
    assert run(diamond(), executor=LocalExecutor()).outputs == result.outputs


def test_labels_send_only_their_tasks_to_the_bound_executor() -> None:
    recording = Recording()
    result = run(diamond(label="remote"), executors={"remote": recording})
    assert result.ok and result.outputs["d"] == 5
    assert recording.calls == ["b"] and recording.events == ["prepare", "release"]


def test_labels_are_ignored_without_executors_so_the_workflow_runs_in_memory() -> None:
    assert run(diamond(label="remote")).outputs["d"] == 5


def test_an_unbound_label_names_the_task_and_the_label() -> None:
    with pytest.raises(ValueError, match=r"task 'b': executor label 'remote' is not bound"):
        run(diamond(label="remote"), executors={"gpu": Recording()})
    with pytest.raises(ValueError, match="bound labels: none"):
        run(diamond(label="remote"), executors={})


def test_bad_executors_and_labels_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="executor must be a molexp Executor"):
        run(diamond(), executor="dask")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"executors\['remote'\] must be a molexp Executor"):
        run(diamond(label="remote"), executors={"remote": object()})  # type: ignore[dict-item]
    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match="executor='not a label' must be a label"):
        wf.add(Value(1), executor="not a label")
    with pytest.raises(WorkflowDefinitionError, match="actors always run locally"):
        wf.add(Count(), executor="remote")


def test_actors_run_locally_under_a_default_executor() -> None:
    wf = Workflow("w")
    source = wf.add(Value(1), name="v")
    wf.add(Count(), after=source, name="count")
    recording = Recording()
    result = run(wf, executor=recording)
    assert result.ok and recording.calls == ["v"] and result.outputs["count"] == 1


def test_executor_failures_fail_the_run_naming_the_task() -> None:
    class Broken(Recording):
        async def run(self, call: TaskCall) -> Any:
            raise ConnectionError(f"lost {call.task_id}")

    result = run(diamond(label="remote"), executors={"remote": Broken()})
    assert result.status == "failed" and result.failure.task_id == "b"
    assert "lost b" in str(result.failure)


def test_a_failing_prepare_is_raised_naming_the_executor_and_releases_the_others() -> None:
    class NoCluster(Recording):
        async def prepare(self) -> None:
            raise OSError("connection refused")

        def __repr__(self) -> str:
            return "NoCluster()"

    first = Recording()
    wf = diamond(label="remote")
    with pytest.raises(RuntimeError, match=r"executor NoCluster\(\) could not start: OSError"):
        run(wf, executor=first, executors={"remote": NoCluster()})
    assert first.events == ["prepare", "release"]


def test_cancelling_the_caller_cancels_executor_runs_and_releases() -> None:
    cancelled: list[str] = []

    class Remote(Recording):
        async def run(self, call: TaskCall) -> Any:
            try:
                return await super().run(call)
            except asyncio.CancelledError:
                cancelled.append(call.task_id)
                raise

    executor = Remote()
    wf = Workflow("w")
    wf.add(Forever(), name="a")
    wf.add(Forever(), name="b")

    async def main() -> None:
        pending = asyncio.create_task(WorkflowRuntime().execute(wf, executor=executor))
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    asyncio.run(main())
    assert sorted(cancelled) == ["a", "b"] and executor.events == ["prepare", "release"]


def test_task_call_builds_the_task_context() -> None:
    seen: dict[str, Any] = {}

    class Inspect(Executor):
        async def run(self, call: TaskCall) -> Any:
            ctx = call.context()
            seen.update(task=ctx.task_id, inputs=ctx.inputs, config=dict(ctx.config))
            return repr(call)

    wf = Workflow("w", input=int)
    node = wf.add(Value(1), name="root")
    result = run(wf, inputs=7, config={"k": 1}, executor=Inspect())
    assert seen == {"task": "root", "inputs": 7, "config": {"k": 1}}
    assert result.output(node) == "TaskCall(task_id='root', workflow='w')"  # type: ignore[comparison-overlap]
