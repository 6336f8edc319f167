"""Retries and timeouts per task: wf.add options and class attributes, tries recorded."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from molexp import Task, TaskContext, Workflow
from molexp.runtime import TaskTimeout, WorkflowRuntime
from molexp.workflow.errors import WorkflowDefinitionError
from molexp.workspace import Workspace


class EngineCrashed(RuntimeError):
    pass


class Flaky(Task[TaskContext[None, None, None], str]):
    """Fails ``failures`` times with ``error``, then succeeds."""

    def __init__(self, failures: int, error: type[Exception] = EngineCrashed) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def execute(self, ctx: TaskContext[None, None, None]) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"crash {self.calls}")
        return f"ok after {self.calls}"


class Slow(Task[TaskContext[None, None, None], str]):
    def __init__(self, seconds: list[float]) -> None:
        self.seconds = seconds
        self.calls = 0
        self.finished = 0

    async def execute(self, ctx: TaskContext[None, None, None]) -> str:
        self.calls += 1
        await asyncio.sleep(self.seconds[min(self.calls, len(self.seconds)) - 1])
        self.finished += 1
        return "done"


def _run(wf: Workflow[Any, Any, Any]) -> Any:
    return asyncio.run(WorkflowRuntime().execute(wf))


def test_retries_run_the_task_again_and_record_every_try() -> None:
    wf: Workflow[None, None, None] = Workflow("retry")
    task = Flaky(2)
    node = wf.add(task, retries=2, retry_on=EngineCrashed, retry_backoff=0)
    result = _run(wf)
    assert result.ok and result.output(node) == "ok after 3" and task.calls == 3
    tries = result.tries["flaky"]
    assert [t.status for t in tries] == ["failed", "failed", "succeeded"]
    assert tries[0].error == "EngineCrashed: crash 1" and all(t.duration >= 0 for t in tries)


def test_retries_stop_after_the_limit_and_the_last_error_fails_the_task() -> None:
    wf: Workflow[None, None, None] = Workflow("retry")
    task = Flaky(5)
    wf.add(task, retries=1, retry_backoff=0)
    result = _run(wf)
    assert not result.ok and task.calls == 2
    assert result.failure is not None and str(result.failure.exception) == "crash 2"


def test_an_exception_outside_retry_on_is_not_retried() -> None:
    wf: Workflow[None, None, None] = Workflow("retry")
    task = Flaky(1, error=ValueError)
    wf.add(task, retries=3, retry_on=(EngineCrashed,), retry_backoff=0)
    result = _run(wf)
    assert not result.ok and task.calls == 1
    assert [t.status for t in result.tries["flaky"]] == ["failed"]


def test_a_timeout_cancels_the_body_and_names_the_task_and_the_limit() -> None:
    wf: Workflow[None, None, None] = Workflow("timeout")
    task = Slow([30.0])
    wf.add(task, timeout=0.2)
    result = _run(wf)
    assert not result.ok and task.finished == 0  # the body was cancelled, not awaited
    exc = result.failure.exception
    assert isinstance(exc, TaskTimeout) and isinstance(exc, TimeoutError)
    assert str(exc) == "task 'slow' exceeded its timeout of 0.2 s"
    assert [t.status for t in result.tries["slow"]] == ["timeout"]


def test_a_timed_out_try_is_retried() -> None:
    wf: Workflow[None, None, None] = Workflow("timeout")
    task = Slow([30.0, 0.0])
    node = wf.add(task, timeout=0.2, retries=1, retry_backoff=0)
    result = _run(wf)
    assert result.ok and result.output(node) == "done" and task.calls == 2
    assert [t.status for t in result.tries["slow"]] == ["timeout", "succeeded"]


def test_a_timeout_error_raised_by_the_body_is_not_a_molexp_timeout() -> None:
    class Raises(Task[TaskContext[None, None, None], None]):
        async def execute(self, ctx: TaskContext[None, None, None]) -> None:
            raise TimeoutError("the engine's own")

    wf: Workflow[None, None, None] = Workflow("timeout")
    wf.add(Raises(), timeout=10)
    exc = _run(wf).failure.exception
    assert type(exc) is TimeoutError and str(exc) == "the engine's own"


def test_class_attributes_declare_the_policy_and_wf_add_overrides_them() -> None:
    class Declared(Flaky):
        retries = 3
        retry_on = (EngineCrashed,)
        retry_backoff = 0.0

    wf: Workflow[None, None, None] = Workflow("attrs")
    a = Declared(2)
    b = Declared(2)
    wf.add(a, name="a")
    wf.add(b, name="b", retries=0)
    assert wf.policy("a").retries == 3 and wf.policy("b").retries == 0
    result = _run(wf)
    assert not result.ok and result.failure.task_id == "b"
    assert b.calls == 1


def test_backoff_doubles_between_tries() -> None:
    wf: Workflow[None, None, None] = Workflow("backoff")
    wf.add(Flaky(2), retries=2, retry_backoff=0.05)
    result = _run(wf)
    tries = result.tries["flaky"]
    assert result.ok and len(tries) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "retries=-1 must be a non-negative integer"),
        ({"retries": True}, "retries=True must be a non-negative integer"),
        ({"timeout": 0}, "timeout=0 must be a positive number of seconds or None"),
        ({"timeout": float("inf")}, "timeout=inf must be a positive number"),
        ({"retry_on": ValueError("x")}, "retry_on=ValueError('x') must be an exception class"),
        ({"retry_on": ()}, "retry_on=() must be an exception class or a non-empty tuple"),
        ({"cache": 1}, "cache=1 must be True or False"),
    ],
)
def test_bad_policy_options_name_the_task(options: dict[str, Any], message: str) -> None:
    wf: Workflow[None, None, None] = Workflow("bad")
    with pytest.raises(WorkflowDefinitionError, match=r"workflow 'bad', task 'flaky': ") as info:
        wf.add(Flaky(0), **options)
    assert message in str(info.value)


def test_a_bad_class_attribute_names_the_task_and_class() -> None:
    class Bad(Flaky):
        timeout = -5

    wf: Workflow[None, None, None] = Workflow("bad")
    with pytest.raises(WorkflowDefinitionError, match=r"task 'bad' \(.*Bad\): class attribute"):
        wf.add(Bad(0))


def test_under_a_run_failed_tries_are_recorded_in_tasks_jsonl(tmp_path: Path) -> None:
    wf: Workflow[None, None, None] = Workflow("recorded")
    wf.add(Flaky(1), retries=1, retry_backoff=0)
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()

    async def go() -> Any:
        async with run.start() as rc:
            return await WorkflowRuntime().execute(wf, run_context=rc)

    assert asyncio.run(go()).ok
    records = [json.loads(x) for x in (run.path / "tasks.jsonl").read_text().splitlines()]
    assert [(r["event"], r.get("try"), r.get("status")) for r in records] == [
        ("try", 1, "failed"),
        ("output", 2, None),
    ]
    assert records[0]["error"] == "EngineCrashed: crash 1"
