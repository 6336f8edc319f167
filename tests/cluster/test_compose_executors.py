"""The same mapped workflow in-process, on the process executor and on a real Dask
LocalCluster: same outputs, same attribution (``relax[i]``, ``score[i].score``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cluster.compose_tasks import Fails, Generate, Unpicklable, scan
from molexp import Workflow, WorkflowRuntime, Workspace
from molexp.executors import DaskExecutor, ProcessExecutor, TaskNotPicklable
from molexp.runtime.compose import MapElementError

COUNT = 6


def _tracked(tmp_path: Path, executor: Any) -> tuple[Any, Workspace, Any]:
    ws = Workspace(tmp_path / "ws")
    wf, relaxed, total = scan(COUNT)
    run_ = ws.project("p").experiment("e").add_run()

    async def main() -> Any:
        async with run_.start() as rc:
            return await WorkflowRuntime().execute(wf, run_context=rc, executor=executor)

    result = asyncio.run(main())
    assert result.ok, result.failure
    return result, ws, (relaxed, total)


def _attribution(ws: Workspace) -> list[tuple[str, str]]:
    return sorted((a.producer.task_id, a.name) for a in ws.catalog.query_assets(kind="artifact"))


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[tuple[str, str]]]:
    result, ws, (relaxed, total) = _tracked(tmp_path_factory.mktemp("local"), None)
    return (result.output(relaxed), result.output(total), result.results), _attribution(ws)


def test_in_process_attribution_is_per_element(in_process: Any) -> None:
    _, attribution = in_process
    assert attribution == sorted(
        [(f"relax[{i}]", f"relaxed_{i}.txt") for i in range(COUNT)]
        + [(f"score[{i}].score", "score.txt") for i in range(COUNT)]
    )


def _same_as_in_process(in_process: Any, result: Any, ws: Workspace, nodes: Any) -> set[int]:
    (relaxed_local, total_local, results_local), attribution = in_process
    relaxed, total = nodes
    got = result.output(relaxed)
    assert [(r.index, r.energy) for r in got] == [(r.index, r.energy) for r in relaxed_local]
    assert result.output(total) == total_local
    assert result.results == results_local  # set_result from the workers merged back
    assert _attribution(ws) == attribution
    assert len(ws.catalog.query_assets(producer_task="relax")) == COUNT
    return {r.pid for r in got}


def test_process_executor_runs_elements_in_worker_processes(
    in_process: Any, tmp_path: Path
) -> None:
    import os

    result, ws, nodes = _tracked(tmp_path, ProcessExecutor(max_workers=2))
    pids = _same_as_in_process(in_process, result, ws, nodes)
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_dask_local_cluster_runs_elements_like_in_process(
    in_process: Any, client: Any, tmp_path: Path
) -> None:
    result, ws, nodes = _tracked(tmp_path, DaskExecutor(client))
    _same_as_in_process(in_process, result, ws, nodes)


def test_a_map_labelled_cpu_runs_on_the_bound_executor_only() -> None:
    import os

    wf, relaxed, total = scan(3, executor="cpu")

    async def main() -> Any:
        async with ProcessExecutor(max_workers=2) as pool:
            return await WorkflowRuntime().execute(wf, executors={"cpu": pool})

    result = asyncio.run(main())
    assert result.ok, result.failure
    assert os.getpid() not in {r.pid for r in result.output(relaxed)}
    assert result.output(total) == -6.0


def test_pickling_errors_name_the_element_task_and_the_part() -> None:
    wf: Workflow[Any, Any, Any] = Workflow("bad")
    wf.map(Unpicklable(), over=wf.add(Generate(2)), name="locked")
    result = asyncio.run(WorkflowRuntime().execute(wf, executor=ProcessExecutor(max_workers=1)))
    exc = result.failure.exception
    assert isinstance(exc, MapElementError) and exc.index == 0
    cause = exc.__cause__
    assert isinstance(cause, TaskNotPicklable)
    assert "task 'locked[0]' cannot run on a worker process: its task object" in str(cause)
    assert "Unpicklable" in str(cause) and "lock" in str(cause)


def test_an_element_failing_in_a_worker_names_its_index() -> None:
    wf: Workflow[Any, Any, Any] = Workflow("fails")
    wf.map(Fails(), over=wf.add(Generate(4)), name="check")
    result = asyncio.run(WorkflowRuntime().execute(wf, executor=ProcessExecutor(max_workers=2)))
    exc = result.failure.exception
    assert isinstance(exc, MapElementError) and exc.task_id == "check[2]"
    assert "element 2 failed (task 'check[2]'): ValueError: element 2 is bad" in str(exc)


@pytest.mark.timeout(100)  # a guard: an abandoned body would block the pool's shutdown 120 s
def test_cancelling_stops_elements_running_in_worker_processes(tmp_path: Path) -> None:
    import os
    import signal

    from cluster.compose_tasks import Block

    wf: Workflow[Any, Any, Any] = Workflow("blocked")
    wf.map(Block(str(tmp_path)), over=wf.add(Generate(2)), name="block")
    pool = ProcessExecutor(max_workers=2)

    async def main() -> None:
        job = asyncio.ensure_future(WorkflowRuntime().execute(wf, executor=pool))
        for _ in range(6000):  # until both elements run in their processes (guard: 60 s)
            if len(list(tmp_path.glob("started_*"))) == 2 or job.done():
                break
            await asyncio.sleep(0.01)
        assert len(list(tmp_path.glob("started_*"))) == 2, job
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    pids = [int(p.name.rsplit("_", 1)[1]) for p in tmp_path.glob("started_*")]
    for pid in pids:  # the abandoned bodies' processes were terminated, not left running
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"worker process {pid} still ran after the execution was cancelled")
