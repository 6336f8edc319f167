"""TaskContext on its own: typed view, soft helpers, per-task binding under a run."""

from __future__ import annotations

from typing import Any

import pytest

from molexp import ProfileConfig, TaskContext


class FakeBinding:
    """A minimal in-memory run binding that records which task each call is for."""

    def __init__(self, task_id: str | None, calls: list[tuple[str | None, str, Any]]) -> None:
        self.task_id, self.calls = task_id, calls
        self.results: dict[str, Any] = {}

    @property
    def artifact(self) -> Any:
        return ("artifact-store", self.task_id)

    def log(self, name: str) -> Any:
        self.calls.append((self.task_id, "log", name))
        return ("log", name)

    def checkpoint(self, name: str, *, data: Any) -> Any:
        self.calls.append((self.task_id, "checkpoint", data))
        return ("checkpoint", name)

    def find_asset(self, name: str, kind: str | None = None) -> Any:
        return ("asset", name, kind)

    def set_result(self, key: str, value: Any) -> None:
        self.calls.append((self.task_id, "set_result", value))
        self.results[key] = value

    def get_result(self, key: str, default: Any = None) -> Any:
        return self.results.get(key, default)


class FakeRun:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str, Any]] = []
        self.bound: list[tuple[str | None, str | None]] = []

    def bind_task(self, task_id: str | None, *, workflow: str | None) -> FakeBinding:
        self.bound.append((task_id, workflow))
        return FakeBinding(task_id, self.calls)


def test_fields_are_read_only_properties() -> None:
    ctx: TaskContext[int, str, float] = TaskContext(state=1, deps="d", inputs=2.0)
    assert (ctx.state, ctx.deps, ctx.inputs) == (1, "d", 2.0)
    assert ctx.config == {} and ctx.config.name is None and ctx.run_context is None
    with pytest.raises(AttributeError):
        ctx.state = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ctx.extra = 1  # type: ignore[attr-defined]


def test_soft_helpers_return_none_without_run() -> None:
    ctx = TaskContext(state=None, deps=None, inputs=None)
    assert ctx.artifact is None and ctx.log("x") is None
    assert ctx.checkpoint("c", data=1) is None and ctx.find_asset("a") is None
    ctx.set_result("k", 1)
    assert ctx.get_result("k") == 1 and ctx.get_result("nope", 5) == 5


def test_helpers_delegate_to_a_binding_named_after_the_task() -> None:
    run = FakeRun()
    results: dict[str, Any] = {}
    ctx = TaskContext(
        state=None,
        deps=None,
        inputs=None,
        run_context=run,
        task_id="train",
        workflow="wf",
        results=results,
    )
    assert ctx.artifact == ("artifact-store", "train")
    assert ctx.log("md") == ("log", "md")
    ctx.set_result("e", 1.0)
    assert ctx.get_result("e") == 1.0 and results == {"e": 1.0}
    assert run.bound == [("train", "wf")], "the binding is created once, lazily"
    ctx.set_active_task("evaluate")
    ctx.checkpoint("c", data=3)
    assert run.calls[-1] == ("evaluate", "checkpoint", 3)
    assert run.bound[-1] == ("evaluate", "wf")


def test_binding_is_lazy() -> None:
    run = FakeRun()
    ctx = TaskContext(state=None, deps=None, inputs=None, run_context=run, task_id="t")
    assert ctx.inputs is None and run.bound == []


def test_repr_names_task_and_profile() -> None:
    ctx = TaskContext(
        state=None, deps=None, inputs=None, task_id="t", config=ProfileConfig(name="quick")
    )
    assert repr(ctx) == "TaskContext(task_id='t', config='quick', run=False)"


def test_require_run_names_the_task_without_a_run() -> None:
    ctx = TaskContext(state=None, deps=None, inputs=None, task_id="train")
    with pytest.raises(RuntimeError, match="task 'train' needs a tracked run"):
        ctx.require_run()
    assert ctx.load_checkpoint("md", default={"step": 0}) == {"step": 0}
    assert ctx.latest_checkpoint("md") is None


def test_require_run_returns_the_binding_under_a_run() -> None:
    run = FakeRun()
    ctx = TaskContext(state=None, deps=None, inputs=None, run_context=run, task_id="t")  # type: ignore[arg-type]
    assert ctx.require_run().task_id == "t"
