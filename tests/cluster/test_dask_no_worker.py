"""DaskExecutor never waits silently for workers that will not come (real LocalClusters).

Each test has a cluster of its own (scaled to zero, losing its last worker, starting a
slow worker), on 127.0.0.1, with a short ``worker_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed
import pytest

from cluster.tasks import Noop, Slow
from molexp import Workflow, WorkflowRuntime
from molexp.executors import DaskExecutor, NoWorkerAvailable
from molexp.workspace import Workspace


@contextlib.contextmanager
def local_cluster(workers: int, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.CRITICAL,
        **kwargs,
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


def one_task(task: Any, name: str = "md") -> Workflow[None, None, None]:
    wf: Workflow[None, None, None] = Workflow("one")
    wf.add(task, name=name)
    return wf


def test_no_worker_fails_the_task_and_the_run_naming_task_and_executor(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with local_cluster(0) as (_cluster, client):
        executor = DaskExecutor(client, worker_timeout=0.3)
        named = repr(executor)  # while the client is open

        async def main() -> Any:
            async with run.start() as rc:  # no raise_for_status: the run fails anyway
                return await WorkflowRuntime().execute(
                    one_task(Noop()), run_context=rc, executor=executor
                )

        result = asyncio.run(main())
    failure = result.failure
    assert failure is not None and failure.task_id == "md"
    assert isinstance(failure.exception, NoWorkerAvailable)
    message = str(failure.exception)
    assert message.startswith(f"task 'md': no Dask worker could run it on {named} for ")
    assert "(worker_timeout=0.3): no worker is connected to the scheduler" in message
    assert "LocalCluster has no worker job pending" in message
    assert run.status == "failed"
    assert run.error is not None and run.error.task_id == "md"
    assert run.error.type == "molexp.executors.errors.NoWorkerAvailable"
    ws.close()


def test_losing_the_last_worker_fails_the_running_task_naming_the_worker(
    tmp_path: Path,
) -> None:
    with local_cluster(1) as (cluster, client):
        client.wait_for_workers(1, timeout=60)
        [(address, info)] = client.scheduler_info()["workers"].items()
        executor = DaskExecutor(client, worker_timeout=0.3)

        async def main() -> Any:
            pending = asyncio.create_task(
                WorkflowRuntime().execute(one_task(Slow(str(tmp_path))), executor=executor)
            )
            deadline = time.monotonic() + 60
            while not (tmp_path / "started-md").exists():
                assert time.monotonic() < deadline, "the task never started"
                await asyncio.sleep(0.05)
            await asyncio.to_thread(cluster.scale, 0)  # the worker goes, its task with it
            return await pending

        result = asyncio.run(main())
    assert result.failure is not None and result.failure.task_id == "md"
    message = str(result.failure.exception)
    assert isinstance(result.failure.exception, NoWorkerAvailable), message
    assert f"the last one, {str(info['name'])!r} at {address}, left" in message
    assert "LocalCluster has no worker job pending" in message


def test_an_executor_given_an_address_says_pending_jobs_are_not_visible() -> None:
    with local_cluster(0) as (cluster, _client):
        executor = DaskExecutor(cluster.scheduler_address, worker_timeout=0.3)
        result = asyncio.run(WorkflowRuntime().execute(one_task(Noop()), executor=executor))
    assert result.failure is not None
    assert isinstance(result.failure.exception, NoWorkerAvailable)
    assert "jobs pending in a batch queue are not visible to an executor given an address" in (
        str(result.failure.exception)
    )


def test_a_worker_being_started_by_adapt_is_waited_for(tmp_path: Path) -> None:
    # The worker takes ~2 s to start (a preload that sleeps), far beyond worker_timeout:
    # the executor waits because the cluster is starting it.
    preload = tmp_path / "slow_start.py"
    preload.write_text("import time\n\ntime.sleep(2)\n")
    with local_cluster(0, preload=[str(preload)]) as (cluster, client):
        cluster.adapt(minimum=0, maximum=1, interval="50ms")
        executor = DaskExecutor(client, worker_timeout=0.5)
        wf = one_task(Noop())
        result = asyncio.run(WorkflowRuntime().execute(wf, executor=executor, inputs=7))
        assert result.failure is None, result.failure
        assert result.outputs["md"] == 7


def test_a_failed_job_submission_fails_at_once_with_the_submit_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dask_jobqueue import SLURMCluster  # a dev dependency: fail, never skip

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch: every submission fails
    cluster = SLURMCluster(
        cores=1,
        memory="1GB",
        scheduler_options={"host": "127.0.0.1", "port": 0, "dashboard_address": ":0"},
    )
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            cluster.scale(jobs=1)
            executor = DaskExecutor(client, worker_timeout=120)  # "at once": not after 120 s
            named = repr(executor)
            result = asyncio.run(WorkflowRuntime().execute(one_task(Noop()), executor=executor))
        finally:
            client.close()
    finally:
        # dask-jobqueue cannot close a job that never started (AssertionError: Status.created)
        with contextlib.suppress(AssertionError):
            cluster.close()
    assert result.failure is not None and result.failure.task_id == "md"
    message = str(result.failure.exception)
    assert isinstance(result.failure.exception, NoWorkerAvailable), message
    assert message.startswith(f"task 'md': no Dask worker can run it on {named}: ")
    assert "SLURMCluster could not submit worker job(s) SLURMCluster-0: FileNotFoundError" in (
        message
    )
    assert "sbatch" in message


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "60"])
def test_worker_timeout_is_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="worker_timeout must be a positive number"):
        DaskExecutor("tcp://127.0.0.1:1", worker_timeout=bad)
