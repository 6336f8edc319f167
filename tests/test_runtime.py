"""WorkflowRuntime: concurrency, inputs, failure and cancellation semantics."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from molexp import (
    ProfileConfig,
    Task,
    TaskContext,
    Workflow,
    WorkflowFailed,
    WorkflowRuntime,
)


@attrs.define
class State:
    log: list[str] = attrs.field(factory=list)


class Sleep(Task):
    def __init__(self, seconds: float, value: Any = None) -> None:
        self.seconds, self.value = seconds, value

    async def execute(self, ctx: TaskContext) -> Any:
        ctx.state.log.append(f"start {ctx.task_id}")
        await asyncio.sleep(self.seconds)
        ctx.state.log.append(f"end {ctx.task_id}")
        return self.value


class Echo(Task):
    async def execute(self, ctx: TaskContext) -> Any:
        return ctx.inputs


class Boom(Task):
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def execute(self, ctx: TaskContext) -> Any:
        await asyncio.sleep(self.delay)
        raise ValueError(f"boom in {ctx.task_id}")


def run(wf: Workflow[Any, Any, Any], **kwargs: Any) -> Any:
    return asyncio.run(WorkflowRuntime().execute(wf, **kwargs))


# Deadlock guard only: a broken runtime fails the test by this, not by how long it took.
GUARD = 60.0


class Meet(Task):
    """Returns only once every task sharing ``barrier`` is running at the same time."""

    def __init__(self, barrier: asyncio.Barrier, value: Any) -> None:
        self.barrier, self.value = barrier, value

    async def execute(self, ctx: TaskContext) -> Any:
        ctx.state.log.append(f"start {ctx.task_id}")
        try:
            await asyncio.wait_for(self.barrier.wait(), GUARD)
        except TimeoutError:
            raise AssertionError(f"{ctx.task_id} ran alone: the tasks did not overlap") from None
        ctx.state.log.append(f"end {ctx.task_id}")
        return self.value


def test_independent_tasks_run_concurrently() -> None:
    barrier = asyncio.Barrier(2)
    wf = Workflow("w", state=State)
    wf.add(Meet(barrier, 1), name="a")
    wf.add(Meet(barrier, 2), name="b")
    result = run(wf)
    assert result.ok and result.outputs == {"a": 1, "b": 2}
    assert result.state.log[:2] == ["start a", "start b"]  # both started before either ended


def test_max_concurrency_bounds_running_bodies() -> None:
    running = 0
    peak = 0

    class Count(Task):
        async def execute(self, ctx: TaskContext) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    wf = Workflow("w")
    root = wf.add(Echo())
    for i in range(20):
        wf.add(Count(), after=root, name=f"c{i}")
    result = asyncio.run(WorkflowRuntime(max_concurrency=3).execute(wf))
    assert result.ok and len(result.outputs) == 21
    assert peak == 3
    peak = 0
    assert asyncio.run(WorkflowRuntime().execute(wf, max_concurrency=2)).ok and peak == 2


def test_invalid_max_concurrency() -> None:
    with pytest.raises(ValueError, match="max_concurrency must be a positive integer"):
        WorkflowRuntime(max_concurrency=0)


def test_root_gets_workflow_input_single_gets_value_fan_in_gets_mapping() -> None:
    wf = Workflow("w", input=int)
    root = wf.add(Echo(), name="root")
    single = wf.add(Echo(), after=root, name="single")
    keyed = wf.add(Echo(), after={"x": root, "y": single}, name="keyed")
    listed = wf.add(Echo(), after=[root, keyed], name="listed")
    result = run(wf, inputs=7)
    assert result.output(root) == 7
    assert result.output(single) == 7
    assert result.output(keyed) == {"x": 7, "y": 7}
    assert result.output(listed) == {"root": 7, "keyed": {"x": 7, "y": 7}}


def test_dict_outputs_are_received_whole_on_fan_in() -> None:
    class Emit(Task):
        async def execute(self, ctx: TaskContext) -> dict[str, int]:
            return {"a": 1, "b": 2}

    wf = Workflow("w")
    e = wf.add(Emit())
    other = wf.add(Sleep(0, 3))
    merged = wf.add(Echo(), after={"emit": e, "other": other})
    assert run(wf, state=State()).output(merged) == {"emit": {"a": 1, "b": 2}, "other": 3}


def test_roots_get_none_without_input_and_ctx_fields_are_wired() -> None:
    seen: dict[str, Any] = {}

    class Look(Task):
        async def execute(self, ctx: TaskContext) -> None:
            seen.update(
                inputs=ctx.inputs,
                deps=ctx.deps,
                config=ctx.config,
                state=ctx.state,
                run=ctx.run_context,
            )

    wf = Workflow("w")
    wf.add(Look())
    state = State()
    run(wf, state=state, deps="engine", config={"lr": 0.1})
    assert seen["inputs"] is None and seen["deps"] == "engine" and seen["state"] is state
    assert seen["config"] == {"lr": 0.1} and seen["config"].name is None and seen["run"] is None
    run(wf, config=ProfileConfig({"a": 1}, name="quick"))
    assert seen["config"].name == "quick"
    run(wf)
    assert seen["config"] == {} and seen["config"].name is None


def test_state_defaults_to_the_declared_state_class() -> None:
    wf = Workflow("w", state=State)
    wf.add(Sleep(0))
    assert isinstance(run(wf).state, State)

    @attrs.define
    class Needy:
        required: int

    wf2 = Workflow("needs-args", state=Needy)
    with pytest.raises(TypeError, match="'needs-args' declares state=Needy.*pass state="):
        run(wf2)


class Hang(Task):
    """Sets ``started`` and then waits (for ``GUARD`` at most) to be cancelled."""

    def __init__(self, started: asyncio.Event) -> None:
        self.started = started

    async def execute(self, ctx: TaskContext) -> Any:
        ctx.state.log.append(f"start {ctx.task_id}")
        self.started.set()
        try:
            await asyncio.sleep(GUARD)
        except asyncio.CancelledError:
            ctx.state.log.append(f"cancelled {ctx.task_id}")
            raise
        ctx.state.log.append(f"end {ctx.task_id}")


class BoomOnceStarted(Task):
    """Raises once ``started`` is set: the sibling is running when the failure happens."""

    def __init__(self, started: asyncio.Event) -> None:
        self.started = started

    async def execute(self, ctx: TaskContext) -> Any:
        await asyncio.wait_for(self.started.wait(), GUARD)
        raise ValueError(f"boom in {ctx.task_id}")


def test_failure_stops_the_run_cancels_siblings_and_keeps_outputs() -> None:
    started = asyncio.Event()
    wf = Workflow("w", state=State)
    done = wf.add(Sleep(0, "kept"), name="done")
    slow = wf.add(Hang(started), after=done, name="slow")
    boom = wf.add(BoomOnceStarted(started), after=done, name="boom")
    wf.add(Sleep(0), after=[slow, boom], name="after_both")
    wf.add(Sleep(0), after=boom, name="after_boom")
    result = run(wf)
    assert "cancelled slow" in result.state.log, "the running sibling was not cancelled"
    assert result.status == "failed" and not result.ok
    assert result.failure.task_id == "boom"
    assert isinstance(result.failure.exception, ValueError)
    assert "boom in boom" in result.failure.traceback and "Traceback" in result.failure.traceback
    assert result.outputs == {"done": "kept"}
    assert result.cancelled == ("slow",)
    assert result.not_started == ("after_both", "after_boom")
    assert "end slow" not in result.state.log
    with pytest.raises(KeyError, match="task 'slow' has no output \\(it was cancelled"):
        result.output(slow)
    with pytest.raises(
        WorkflowFailed, match="workflow 'w': task 'boom' failed: ValueError: boom in boom"
    ) as info:
        result.raise_for_status()
    assert info.value.failure.task_id == "boom" and isinstance(info.value.__cause__, ValueError)


def test_first_failure_wins() -> None:
    started = asyncio.Event()
    wf = Workflow("w", state=State)
    wf.add(BoomOnceStarted(started), name="first")
    wf.add(Hang(started), name="second")  # runs until cancelled
    result = run(wf)
    assert result.failure.task_id == "first"
    assert result.cancelled == ("second",)


def test_cancelling_the_caller_cancels_running_tasks_cleanly() -> None:
    cleaned: list[str] = []

    class Long(Task):
        async def execute(self, ctx: TaskContext) -> None:
            try:
                await asyncio.sleep(10)
            finally:
                cleaned.append(ctx.task_id or "")

    wf = Workflow("w")
    wf.add(Long(), name="a")
    wf.add(Long(), name="b")

    async def main() -> None:
        pending = asyncio.create_task(WorkflowRuntime().execute(wf))
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == [], f"tasks left running: {others}"

    asyncio.run(main())
    assert sorted(cleaned) == ["a", "b"]


def test_a_task_raising_cancelled_error_fails_the_run() -> None:
    class SelfCancel(Task):
        async def execute(self, ctx: TaskContext) -> None:
            raise asyncio.CancelledError()

    wf = Workflow("w")
    wf.add(SelfCancel())
    result = run(wf)
    assert result.status == "failed" and result.failure.task_id == "self_cancel"


def test_soft_helpers_without_a_run_and_in_memory_results() -> None:
    seen: dict[str, Any] = {}

    class Record(Task):
        async def execute(self, ctx: TaskContext) -> None:
            seen.update(
                artifact=ctx.artifact,
                log=ctx.log("md"),
                checkpoint=ctx.checkpoint("state", data={"step": 1}),
                asset=ctx.find_asset("training-data"),
            )
            ctx.set_result("energy", -1.5)

    class Read(Task):
        async def execute(self, ctx: TaskContext) -> Any:
            return ctx.get_result("energy"), ctx.get_result("missing", "default")

    wf = Workflow("w")
    r = wf.add(Record())
    read = wf.add(Read(), after=r)
    result = run(wf)
    assert seen == {"artifact": None, "log": None, "checkpoint": None, "asset": None}
    assert result.output(read) == (-1.5, "default")
    assert result.results == {"energy": -1.5}


def test_durations_are_recorded_per_completed_task() -> None:
    wf = Workflow("w", state=State)
    wf.add(Sleep(0.05), name="a")
    result = run(wf)
    assert set(result.durations) == {"a"} and result.durations["a"] >= 0.04


def test_empty_workflow_succeeds() -> None:
    assert run(Workflow("empty")).status == "succeeded"


def test_execute_rejects_non_workflows() -> None:
    with pytest.raises(TypeError, match="execute\\(\\) takes a Workflow"):
        run("nope")  # type: ignore[arg-type]


def test_a_workflow_runs_again_and_after_growing() -> None:
    wf = Workflow("w", input=int)
    a = wf.add(Echo(), name="a")
    assert run(wf, inputs=1).output(a) == 1
    b = wf.add(Echo(), after=a, name="b")
    assert run(wf, inputs=2).output(b) == 2


def test_generated_style_context_subclass_is_instantiated() -> None:
    class MyContext(TaskContext[None, None, int]):
        __slots__ = ()

    class Typed(Task[MyContext, str]):
        async def execute(self, ctx: MyContext) -> str:
            return type(ctx).__name__

    wf = Workflow("w")
    t = wf.add(Typed())
    assert run(wf).output(t) == "MyContext"


def test_deep_chain_and_wide_fan_out() -> None:
    wf = Workflow("w", input=int)
    node = wf.add(Echo(), name="n0")
    for i in range(1, 3000):
        node = wf.add(Echo(), after=node, name=f"n{i}")
    assert run(wf, inputs=5).output(node) == 5  # no recursion limit, no per-step task

    fan = Workflow("fan", input=int)
    root = fan.add(Echo(), name="root")
    leaves = [fan.add(Echo(), after=root, name=f"l{i}") for i in range(2000)]
    join = fan.add(Echo(), after=leaves, name="join")
    out = run(fan, inputs=3).output(join)
    assert len(out) == 2000 and set(out.values()) == {3}


def test_factories_build_state_deps_and_input_from_the_profile() -> None:
    seen: dict[str, Any] = {}

    class Look(Task):
        async def execute(self, ctx: TaskContext) -> None:
            seen.update(state=ctx.state, deps=ctx.deps, inputs=ctx.inputs)

    wf = Workflow(
        "factories",
        state=State,
        make_state=lambda cfg: State(log=[cfg.get("tag", "none")]),
        make_deps=lambda cfg: f"engine:{cfg.get('engine')}",
        make_input=lambda cfg: cfg.get("n", 0) * 2,
    )
    wf.add(Look())
    run(wf, config=ProfileConfig({"engine": "lammps", "n": 4, "tag": "quick"}, name="quick"))
    assert seen == {"state": State(log=["quick"]), "deps": "engine:lammps", "inputs": 8}
    run(wf, state=State(), deps="given", inputs=1)
    assert seen == {"state": State(), "deps": "given", "inputs": 1}


def test_a_failing_factory_names_the_workflow_and_factory() -> None:
    wf = Workflow("broken", make_deps=lambda cfg: cfg["missing"])
    wf.add(Echo())
    with pytest.raises(
        RuntimeError, match=r"workflow 'broken': make_deps\(config\) failed: KeyError"
    ):
        run(wf)


def test_observer_hears_starts_finishes_failures_and_cancellations() -> None:
    from molexp import ExecutionObserver

    events: list[tuple[str, str]] = []

    class Record(ExecutionObserver):
        def task_started(self, task_id: str) -> None:
            events.append(("started", task_id))

        def task_finished(self, task_id: str, seconds: float) -> None:
            assert seconds >= 0
            events.append(("finished", task_id))

        def task_failed(self, task_id: str, error: BaseException) -> None:
            events.append(("failed", task_id))

        def task_cancelled(self, task_id: str) -> None:
            events.append(("cancelled", task_id))

    wf = Workflow("observed", state=State)
    first = wf.add(Sleep(0), name="first")
    started = asyncio.Event()
    wf.add(Hang(started), after=first, name="slow")
    wf.add(BoomOnceStarted(started), after=first, name="boom")
    asyncio.run(WorkflowRuntime().execute(wf, observer=Record()))
    assert events[:2] == [("started", "first"), ("finished", "first")]
    assert set(events[2:]) == {
        ("started", "slow"),
        ("started", "boom"),
        ("failed", "boom"),
        ("cancelled", "slow"),
    }


def test_a_raising_observer_fails_the_run_instead_of_hanging() -> None:
    from molexp import ExecutionObserver

    class Broken(ExecutionObserver):
        def task_finished(self, task_id: str, seconds: float) -> None:
            raise OSError("progress display went away")

    wf = Workflow("w", state=State)
    first = wf.add(Sleep(0), name="first")
    wf.add(Sleep(0), after=first, name="second")

    async def main() -> Any:
        return await asyncio.wait_for(WorkflowRuntime().execute(wf, observer=Broken()), timeout=5)

    result = asyncio.run(main())
    assert result.status == "failed" and result.failure.task_id == "first"
    assert "progress display went away" in str(result.failure)


def test_an_observer_raising_in_task_failed_does_not_hide_the_failure() -> None:
    from molexp import ExecutionObserver

    class Broken(ExecutionObserver):
        def task_failed(self, task_id: str, error: BaseException) -> None:
            raise RuntimeError("observer bug")

    wf = Workflow("w", state=State)
    wf.add(Boom(0.01), name="boom")
    wf.add(Sleep(5), name="slow")

    async def main() -> Any:
        return await asyncio.wait_for(WorkflowRuntime().execute(wf, observer=Broken()), timeout=5)

    result = asyncio.run(main())
    assert result.failure.task_id == "boom" and isinstance(result.failure.exception, ValueError)
    assert result.cancelled == ("slow",)


def test_declared_deps_or_input_without_value_or_factory_is_an_error() -> None:
    needs_deps = Workflow("needs-deps", deps=str)
    needs_deps.add(Echo())
    with pytest.raises(
        TypeError,
        match=r"'needs-deps' declares deps=str but execute\(\) got no deps= and the workflow has no make_deps=",
    ):
        run(needs_deps)
    assert run(needs_deps, deps="given").ok
    needs_input = Workflow("needs-input", input=int)
    needs_input.add(Echo())
    with pytest.raises(TypeError, match="declares input=int but execute\\(\\) got no inputs="):
        run(needs_input)


def test_config_must_match_the_run_profile(tmp_path: Any) -> None:
    from molexp import Workspace

    wf = Workflow("w")
    wf.add(Echo())
    run_ = Workspace(tmp_path).project("p").experiment("e").add_run()

    async def main() -> None:
        async with run_.start(profile=ProfileConfig({"a": 1}, name="quick")) as rc:
            ok = await WorkflowRuntime().execute(
                wf, run_context=rc, config=ProfileConfig({"a": 1}, name="quick")
            )
            assert ok.ok
            with pytest.raises(
                ValueError, match="config= differs from the profile the run was started with"
            ):
                await WorkflowRuntime().execute(wf, run_context=rc, config={"a": 2})

    asyncio.run(main())
