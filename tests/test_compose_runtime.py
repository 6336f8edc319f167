"""Composition at run time: wf.map over run-time lists and SubWorkflow, in memory and
under a tracked run (attribution of elements and inner tasks)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import attrs
import pytest

from molexp import (
    ExecutionObserver,
    LocalExecutor,
    SubWorkflow,
    Task,
    TaskCall,
    TaskContext,
    Workflow,
    WorkflowDefinitionError,
    WorkflowRuntime,
    Workspace,
)
from molexp.runtime.compose import MapElementError, SubWorkflowError


@attrs.define
class State:
    seen: list[str] = attrs.field(factory=list)


@attrs.frozen
class Structure:
    index: int


@attrs.frozen
class Relaxed:
    index: int
    energy: float


class Count(Task[TaskContext[Any, Any, None], list[int]]):
    def __init__(self, n: int) -> None:
        self.n = n

    async def execute(self, ctx: TaskContext[Any, Any, None]) -> list[int]:
        return list(range(self.n))


class Build(Task[TaskContext[Any, Any, list[int]], list[Structure]]):
    async def execute(self, ctx: TaskContext[Any, Any, list[int]]) -> list[Structure]:
        return [Structure(i) for i in ctx.inputs]


class Square(Task[TaskContext[Any, Any, int], int]):
    async def execute(self, ctx: TaskContext[Any, Any, int]) -> int:
        # Later elements finish first: the output order must still be the input order.
        await asyncio.sleep(0.001 * (5 - ctx.inputs % 5))
        return ctx.inputs * ctx.inputs


class Relax(Task[TaskContext[State, Any, Structure], Relaxed]):
    async def execute(self, ctx: TaskContext[State, Any, Structure]) -> Relaxed:
        assert ctx.task_id is not None
        ctx.state.seen.append(ctx.task_id)
        log = ctx.log(f"relax_{ctx.inputs.index}")
        if log is not None:
            log.append(f"relaxing {ctx.inputs.index}")
        if ctx.artifact is not None:
            ctx.artifact.save(f"relaxed_{ctx.inputs.index}.txt", b"ok")
        return Relaxed(ctx.inputs.index, -1.0 * ctx.inputs.index)


class Fail(Task[TaskContext[Any, Any, int], int]):
    def __init__(self, bad: int) -> None:
        self.bad = bad

    async def execute(self, ctx: TaskContext[Any, Any, int]) -> int:
        if ctx.inputs == self.bad:
            raise ValueError(f"element {ctx.inputs} is bad")
        await asyncio.sleep(0.001)
        return ctx.inputs


class Total(Task[TaskContext[Any, Any, list[int]], int]):
    async def execute(self, ctx: TaskContext[Any, Any, list[int]]) -> int:
        return sum(ctx.inputs)


class Summary(Task[TaskContext[Any, Any, list[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[Any, Any, list[Relaxed]]) -> float:
        return min(r.energy for r in ctx.inputs)


class Events(ExecutionObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.failed: list[str] = []

    def task_started(self, task_id: str) -> None:
        self.started.append(task_id)

    def task_finished(self, task_id: str, seconds: float) -> None:
        self.finished.append(task_id)

    def task_failed(self, task_id: str, error: BaseException) -> None:
        self.failed.append(task_id)


def run(wf: Workflow[Any, Any, Any], **kwargs: Any) -> Any:
    return asyncio.run(WorkflowRuntime().execute(wf, **kwargs))


def squares(n: int, **map_kwargs: Any) -> tuple[Workflow[Any, Any, Any], Any, Any]:
    wf: Workflow[Any, Any, Any] = Workflow("squares")
    count = wf.add(Count(n))
    sq = wf.map(Square(), over=count, **map_kwargs)
    total = wf.add(Total(), after=sq)
    return wf, sq, total


@pytest.mark.parametrize(("limit", "observed"), [(None, True), (2, True), (None, False)])
def test_map_keeps_input_order_and_feeds_downstream(limit: int | None, observed: bool) -> None:
    wf, sq, total = squares(12, max_concurrency=limit)
    events = Events()
    result = run(wf, observer=events if observed else None)
    assert result.ok
    assert result.output(sq) == [i * i for i in range(12)]
    assert result.output(total) == sum(i * i for i in range(12))
    assert sorted(events.finished) == sorted(
        ["count", "total", *[f"square[{i}]" for i in range(12)]] if observed else []
    )
    assert "square" not in events.started  # the map node itself is not a task body


def test_map_max_concurrency_bounds_running_elements() -> None:
    running = [0]
    peak = [0]

    class Track(Task[TaskContext[Any, Any, int], int]):
        async def execute(self, ctx: TaskContext[Any, Any, int]) -> int:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            await asyncio.sleep(0.001)
            running[0] -= 1
            return ctx.inputs

    wf: Workflow[Any, Any, Any] = Workflow("bounded")
    wf.map(Track(), over=wf.add(Count(20)), max_concurrency=3)
    assert run(wf).ok
    assert peak[0] == 3


def test_empty_map_gives_an_empty_list() -> None:
    wf, sq, total = squares(0)
    result = run(wf)
    assert result.ok and result.output(sq) == [] and result.output(total) == 0


@pytest.mark.parametrize("observed", [True, False])  # False: the fast all-at-once path
def test_element_failure_names_the_index_and_fails_the_run(observed: bool) -> None:
    wf: Workflow[Any, Any, Any] = Workflow("failing")
    count = wf.add(Count(10))
    checked = wf.map(Fail(bad=7), over=count, name="check")
    wf.add(Total(), after=checked)
    events = Events()
    result = run(wf, observer=events if observed else None)
    assert not result.ok
    assert result.failure.task_id == "check"
    exc = result.failure.exception
    assert isinstance(exc, MapElementError)
    assert exc.index == 7 and exc.task_id == "check[7]"
    assert "map 'check': element 7 failed (task 'check[7]'): ValueError: element 7 is bad" in str(
        exc
    )
    assert isinstance(exc.__cause__, ValueError)
    assert result.not_started == ("total",)
    assert events.failed == (["check"] if observed else [])


def test_cancelling_the_execution_cancels_running_elements() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    class Hang(Task[TaskContext[Any, Any, int], int]):
        async def execute(self, ctx: TaskContext[Any, Any, int]) -> int:
            started.append(ctx.inputs)
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(ctx.inputs)
                raise
            return ctx.inputs

    wf: Workflow[Any, Any, Any] = Workflow("hang")
    wf.map(Hang(), over=wf.add(Count(4)))

    async def main() -> None:
        job = asyncio.ensure_future(WorkflowRuntime().execute(wf))
        while len(started) < 4:
            await asyncio.sleep(0.001)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert sorted(cancelled) == [0, 1, 2, 3]


def test_a_failing_element_cancels_its_running_siblings() -> None:
    cancelled: list[int] = []

    class SlowOrBad(Task[TaskContext[Any, Any, int], int]):
        async def execute(self, ctx: TaskContext[Any, Any, int]) -> int:
            if ctx.inputs == 0:
                await asyncio.sleep(0.01)
                raise ValueError("bad")
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(ctx.inputs)
                raise
            return ctx.inputs

    wf: Workflow[Any, Any, Any] = Workflow("siblings")
    wf.map(SlowOrBad(), over=wf.add(Count(3)))
    result = asyncio.run(asyncio.wait_for(WorkflowRuntime().execute(wf), 60))
    assert not result.ok and sorted(cancelled) == [1, 2]


def test_map_over_a_non_sequence_is_refused_when_declared_and_at_run_time() -> None:
    class One(Task[TaskContext[Any, Any, None], int]):
        async def execute(self, ctx: TaskContext[Any, Any, None]) -> int:
            return 1

    wf: Workflow[Any, Any, Any] = Workflow("scalar")
    one = wf.add(One())
    with pytest.raises(WorkflowDefinitionError, match="map edge one -> square: One returns int"):
        wf.map(Square(), over=one)

    class Untyped(Task):
        async def execute(self, ctx: TaskContext) -> Any:
            return 5

    wf2: Workflow[Any, Any, Any] = Workflow("untyped")
    wf2.map(Square(), over=wf2.add(Untyped()))
    result = run(wf2)
    assert "map 'square': 'untyped' returned int, not a sequence" in str(result.failure.exception)


def test_map_element_type_is_checked_between_plain_classes() -> None:
    wf: Workflow[Any, Any, Any] = Workflow("mistyped")
    structures = wf.add(Build(), after=wf.add(Count(2)))
    with pytest.raises(
        WorkflowDefinitionError,
        match="map edge build -> square: the elements of 'build' are Structure, which does not "
        "fit the input int that Square declares",
    ):
        wf.map(Square(), over=structures)


# -- sub-workflows ------------------------------------------------------------------------


class Minimize(Task[TaskContext[State, Any, Structure], Relaxed]):
    async def execute(self, ctx: TaskContext[State, Any, Structure]) -> Relaxed:
        assert ctx.task_id is not None
        ctx.state.seen.append(ctx.task_id)
        if ctx.inputs.index == 3:
            raise RuntimeError("did not converge")
        if ctx.artifact is not None:
            ctx.artifact.save("minimized.txt", b"ok")
        return Relaxed(ctx.inputs.index, -2.0 * ctx.inputs.index)


class Score(Task[TaskContext[State, Any, Relaxed], Relaxed]):
    async def execute(self, ctx: TaskContext[State, Any, Relaxed]) -> Relaxed:
        assert ctx.task_id is not None
        ctx.state.seen.append(ctx.task_id)
        return attrs.evolve(ctx.inputs, energy=ctx.inputs.energy - 0.5)


def relax_workflow() -> tuple[Workflow[State, None, Structure], Any]:
    inner = Workflow("relax", state=State, input=Structure)
    minimized = inner.add(Minimize())
    scored = inner.add(Score(), after=minimized)
    return inner, scored


class First(Task[TaskContext[Any, Any, list[Structure]], Structure]):
    async def execute(self, ctx: TaskContext[Any, Any, list[Structure]]) -> Structure:
        return ctx.inputs[0]


def test_sub_workflow_runs_inner_tasks_with_qualified_ids_on_the_outer_state() -> None:
    inner, scored = relax_workflow()
    outer = Workflow("study", state=State)
    build = outer.add(Build(), after=outer.add(Count(1)))
    first = outer.add(First(), after=build)
    relaxed = outer.add(SubWorkflow(inner, output=scored), after=first)
    assert relaxed.id == "relax"
    events = Events()
    state = State()
    result = run(outer, state=state, observer=events)
    assert result.ok, result.failure
    assert result.output(relaxed) == Relaxed(0, -0.5)
    assert state.seen == ["relax.minimize", "relax.score"]
    assert {"relax.minimize", "relax.score"} <= set(events.finished)
    assert "relax" not in events.started


def test_sub_workflow_failure_names_the_inner_task() -> None:
    inner, scored = relax_workflow()
    outer = Workflow("study", state=State)
    structures = outer.add(Build(), after=outer.add(Count(5)))
    relaxed = outer.map(SubWorkflow(inner, output=scored), over=structures, name="scan")
    result = run(outer)
    exc = result.failure.exception
    assert isinstance(exc, MapElementError) and exc.index == 3
    assert "map 'scan': element 3 failed (task 'scan[3].minimize'): RuntimeError: did not" in str(
        exc
    )
    assert isinstance(exc.__cause__, SubWorkflowError)
    assert exc.__cause__.task_id == "scan[3].minimize"
    assert relaxed.id not in result.outputs


def test_map_of_sub_workflows_and_nested_maps() -> None:
    # inner: a map over the structures it is given, then a summary (a homogeneous fan-in)
    inner = Workflow("batch", state=State, input=list[Structure])
    relaxed = inner.map(Relax(), over=inner.add(Pass()))
    best = inner.add(Summary(), after=relaxed)

    class Batches(Task[TaskContext[Any, Any, None], list[list[Structure]]]):
        async def execute(self, ctx: TaskContext[Any, Any, None]) -> list[list[Structure]]:
            return [[Structure(3 * b + i) for i in range(3)] for b in range(4)]

    outer = Workflow("study", state=State)
    batches = outer.add(Batches())
    per_batch = outer.map(SubWorkflow(inner, output=best), over=batches, name="batch")
    state = State()
    result = run(outer, state=state)
    assert result.ok, result.failure
    assert result.output(per_batch) == [-2.0, -5.0, -8.0, -11.0]
    assert sorted(state.seen) == sorted(
        f"batch[{b}].relax[{i}]" for b in range(4) for i in range(3)
    )


class Pass(Task[TaskContext[Any, Any, list[Structure]], list[Structure]]):
    async def execute(self, ctx: TaskContext[Any, Any, list[Structure]]) -> list[Structure]:
        return ctx.inputs


def test_sub_workflow_state_mismatch_names_both_workflows() -> None:
    @attrs.define
    class Other:
        x: int = 0

    inner, scored = relax_workflow()
    outer = Workflow("study", state=Other)
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"workflow 'study', sub-workflow 'relax': the outer state \S*Other of workflow "
        "'study' does not fit the state State that workflow 'relax' declares",
    ):
        outer.add(SubWorkflow(inner, output=scored))


def test_sub_workflow_output_must_be_an_inner_node() -> None:
    inner, _ = relax_workflow()
    _other, scored = relax_workflow()
    with pytest.raises(WorkflowDefinitionError, match="is not a node of workflow 'relax'"):
        SubWorkflow(inner, output=scored)


# -- tracked runs -------------------------------------------------------------------------


def test_tracked_map_attributes_assets_logs_and_progress_per_element(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    wf = Workflow("scan", state=State)
    structures = wf.add(Build(), after=wf.add(Count(4)))
    wf.map(Relax(), over=structures, name="relax")
    run_ = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        async with run_.start() as rc:
            result = await WorkflowRuntime().execute(wf, run_context=rc)
            assert result.ok, result.failure

    asyncio.run(main())
    artifacts = ws.catalog.query_assets(kind="artifact", producer_task="relax")
    assert sorted(a.name for a in artifacts) == [f"relaxed_{i}.txt" for i in range(4)]
    assert sorted(a.producer.task_id for a in artifacts) == [f"relax[{i}]" for i in range(4)]
    one = ws.catalog.query_assets(producer_task="relax[2]")
    assert {a.name for a in one} == {"relaxed_2.txt", "relax_2"}
    assert ws.catalog.query_assets(producer_task="rela") == []
    logs = ws.catalog.query_assets(kind="log", producer_task="relax")
    assert sorted(a.producer.task_id for a in logs) == [f"relax[{i}]" for i in range(4)]


def test_tracked_sub_workflow_attributes_assets_to_qualified_ids(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    inner, scored = relax_workflow()
    outer = Workflow("study", state=State)
    first = outer.add(First(), after=outer.add(Build(), after=outer.add(Count(1))))
    outer.add(SubWorkflow(inner, output=scored), after=first)
    run_ = ws.project("p").experiment("e").add_run()

    async def main() -> None:
        async with run_.start() as rc:
            result = await WorkflowRuntime().execute(outer, run_context=rc)
            assert result.ok, result.failure

    asyncio.run(main())
    (asset,) = ws.catalog.query_assets(producer_task="relax")
    assert asset.producer.task_id == "relax.minimize" and asset.name == "minimized.txt"


def test_mermaid_draws_sub_workflows_as_subgraphs_and_maps_per_element() -> None:
    inner, scored = relax_workflow()
    outer = Workflow("study", state=State)
    structures = outer.add(Build(), after=outer.add(Count(2)))
    outer.map(SubWorkflow(inner, output=scored), over=structures, name="scan")
    outer.map(Relax(), over=structures)
    drawn = outer.to_mermaid(show_types=True)
    assert '    subgraph scan["scan[i]: workflow relax"]' in drawn
    assert '        scan_i__minimize["scan[i].minimize<br/>Minimize"]' in drawn
    assert "        scan_i__minimize -->|Relaxed| scan_i__score" in drawn
    assert "    build -->|each: list[Structure]| scan" in drawn
    assert '    relax[["relax[i]<br/>map Relax"]]' in drawn
    assert drawn.count("    end\n") == 1


class Counting(LocalExecutor):
    """Runs bodies in this process, remembering which task ids it ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.prepared = 0

    async def prepare(self) -> None:
        self.prepared += 1

    async def run(self, call: TaskCall) -> Any:
        self.ran.append(call.task_id)
        return await super().run(call)


def test_inner_labels_bind_like_outer_ones_and_their_executors_are_prepared() -> None:
    inner = Workflow("relax", state=State, input=Structure)
    minimized = inner.add(Minimize(), executor="cpu")
    scored = inner.add(Score(), after=minimized)
    outer = Workflow("study", state=State)
    first = outer.add(First(), after=outer.add(Build(), after=outer.add(Count(1))))
    outer.add(SubWorkflow(inner, output=scored), after=first)
    cpu = Counting()
    result = run(outer, executors={"cpu": cpu})
    assert result.ok, result.failure
    assert cpu.ran == ["relax.minimize"] and cpu.prepared == 1
    with pytest.raises(ValueError, match="task 'minimize': executor label 'cpu' is not bound"):
        run(outer, executors={"gpu": cpu})
    everything = Counting()
    assert run(outer, executor=everything).ok
    assert everything.ran == ["count", "build", "first", "relax.minimize", "relax.score"]


def test_molexp_check_tags_errors_inside_map_checks() -> None:
    from molexp.cli.gen_command import _edge_lines

    text = "    async def edge__a__b(ctx: X) -> None:\n        pass\n"
    text += "    async def map__b__c(ctx: Y, upstream: B) -> None:\n        pass\n"
    assert [(line, name) for line, name, _ in _edge_lines(text)] == [
        (1, "edge__a__b"),
        (3, "map__b__c"),
    ]
