"""TaskContext on top of a RunContext: the seed's helpers, run-backed, attributed per task."""

from __future__ import annotations

import asyncio
from typing import Any, assert_type

import attrs

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import (
    ArtifactAsset,
    ArtifactStore,
    Asset,
    CheckpointAsset,
    LogAsset,
    LogHandle,
    RunStatus,
    TaskRunBinding,
    Workspace,
)


def test_run_context_bindings_are_precisely_typed(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        binding = rc.bind_task("t", workflow="wf")
        concrete = rc.bind_task("t")
        assert_type(concrete, TaskRunBinding)
        assert_type(concrete.artifact, ArtifactStore)
        assert_type(concrete.log("x"), LogHandle)
        assert_type(concrete.checkpoint("c", data=1), CheckpointAsset)
        assert_type(concrete.find_asset("c"), Asset | None)
        assert binding.artifact is not None
    assert_type(ws.catalog.query_assets(kind="log"), list[LogAsset])
    assert_type(ws.catalog.query_assets(kind="checkpoint"), list[CheckpointAsset])
    assert_type(ws.catalog.query_assets(producer_task="t"), list[Asset])
    assert_type(run.assets("artifact"), list[ArtifactAsset])
    assert_type(run.assets(), list[Asset])


def test_task_context_helpers_under_a_run(ws: Workspace) -> None:
    ws.assets.add("forcefield", {"epsilon": 1.0})
    run = ws.project("p").experiment("e").add_run()
    with run.start(profile={"steps": 3}) as rc:
        ctx: TaskContext[None, None, int] = TaskContext(
            state=None,
            deps=None,
            inputs=1,
            config=rc.config,
            run_context=rc,
            task_id="prepare",
            workflow="wf",
        )
        assert ctx.run_context is rc and ctx.config["steps"] == 3
        assert_type(ctx.artifact, ArtifactStore | None)  # soft: None without a run
        assert ctx.artifact is not None
        run_helpers = ctx.require_run()
        assert_type(run_helpers, TaskRunBinding)
        run_helpers.artifact.save("data.json", {"n": 1})
        run_helpers.log("prepare").append("ok")
        ctx.checkpoint("state", data={"step": 1})
        forcefield = ctx.find_asset("forcefield")
        assert forcefield is not None and forcefield.load() == {"epsilon": 1.0}
        ctx.set_result("n", 1)
        assert ctx.get_result("n") == 1
        ctx.set_active_task("train")  # the seed meaning: attribute what follows to "train"
        ctx.require_run().artifact.save("model.json", {"w": 2})
    by_name = {a.name: a.producer.task_id for a in run.assets() if a.producer}
    assert by_name == {
        "data.json": "prepare",
        "prepare": "prepare",
        "state": "prepare",
        "model.json": "train",
    }
    assert run.results == {"n": 1}


@attrs.frozen
class Dataset:
    values: tuple[float, ...]


class Prepare(Task[TaskContext[None, str, None], Dataset]):
    async def execute(self, ctx: TaskContext[None, str, None]) -> Dataset:
        data = Dataset(tuple(float(i) for i in range(int(ctx.config["n"]))))
        ctx.require_run().artifact.save("dataset.json", data)
        return data


class Fit(Task[TaskContext[None, str, Dataset], float]):
    async def execute(self, ctx: TaskContext[None, str, Dataset]) -> float:
        resume = ctx.load_checkpoint("fit", default={"step": 0})
        log = ctx.require_run().log("fit")
        for step in range(resume["step"], 3):
            log.append(f"{ctx.deps} step {step}")
            ctx.checkpoint("fit", data={"step": step + 1})
        mean = sum(ctx.inputs.values) / len(ctx.inputs.values)
        ctx.set_result("mean", mean)
        return mean


class Broken(Task[TaskContext[None, str, Dataset], None]):
    async def execute(self, ctx: TaskContext[None, str, Dataset]) -> None:
        raise ValueError("broken task")


def test_tracked_workflow_through_the_runtime(ws: Workspace) -> None:
    wf: Workflow[None, str, None] = Workflow("fit", deps=str)
    prepare = wf.add(Prepare())
    fit = wf.add(Fit(), after=prepare)
    run = ws.project("p").experiment("e").add_run(params={"n": 4})

    async def main() -> float:
        async with run.start(profile={"n": 4}) as rc:
            result = await WorkflowRuntime().execute(
                wf, deps="lammps", config=rc.config, run_context=rc
            )
            return result.raise_for_status().output(fit)

    assert asyncio.run(main()) == 1.5
    assert run.status is RunStatus.SUCCEEDED and run.results == {"mean": 1.5}
    assert [a.producer.task_id for a in ws.catalog.query_assets(name="dataset.json")] == [  # type: ignore[union-attr]
        "prepare"
    ]
    assert len(ws.catalog.query_assets(producer_task="fit", kind="checkpoint")) == 3
    assert run.load_checkpoint("fit") == {"step": 3}


def test_failed_workflow_result_fails_the_run(ws: Workspace) -> None:
    wf: Workflow[None, str, None] = Workflow("broken", deps=str)
    prepare = wf.add(Prepare())
    wf.add(Broken(), after=prepare)
    run = ws.project("p").experiment("e").add_run()

    async def main() -> Any:
        async with run.start(profile={"n": 2}) as rc:
            result = await WorkflowRuntime().execute(wf, deps="x", config=rc.config, run_context=rc)
            result.raise_for_status()

    try:
        asyncio.run(main())
    except Exception as exc:
        assert "broken task" in str(exc)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error.type == "molexp.runtime.result.WorkflowFailed"
    assert "broken task" in run.error.message
