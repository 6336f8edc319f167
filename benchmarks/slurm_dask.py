"""DaskExecutor on a real Slurm (dask-jobqueue ``SLURMCluster``): latencies and overhead.

Run: ``python benchmarks/slurm_dask.py [--quick]`` with a Slurm controller up
(``sudo scripts/slurm-local.sh start``). Measures, on this machine's single-node Slurm:

- job start latency: ``cluster.scale(jobs=1)`` -> the job in ``squeue`` -> running ->
  its worker connected to the scheduler;
- per-task cost of N no-op tasks through molexp's ``DaskExecutor`` vs raw
  ``client.submit`` on the same Slurm-backed cluster (one job, 2 worker processes);
- time from ``scancel`` of the last worker job (standing in for a walltime kill or a
  preemption) to the run's ``NoWorkerAvailable`` failure, with ``worker_timeout`` given;
- time from a job ``sbatch`` refuses (``--constraint=gpu``) to the failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dask_executor import best_of, chain, independent, noop  # noqa: E402

from molexp import Task, TaskContext, Workflow, WorkflowRuntime  # noqa: E402
from molexp.executors import DaskExecutor, NoWorkerAvailable  # noqa: E402

Client: Any = distributed.Client


class Sleep(Task[TaskContext[None, None, None], None]):
    def __init__(self, folder: str) -> None:
        self.folder = folder

    async def execute(self, ctx: TaskContext[None, None, None]) -> None:
        Path(self.folder, os.environ.get("SLURM_JOB_ID", "none")).touch()
        await asyncio.sleep(3600)


def squeue(name: str) -> list[tuple[str, str]]:
    out = subprocess.run(
        ["squeue", "-h", "-n", name, "-o", "%i %t"], capture_output=True, text=True, check=True
    ).stdout
    return [(line.split()[0], line.split()[1]) for line in out.splitlines()]


@contextlib.contextmanager
def slurm_cluster(name: str, logs: Path, **options: Any) -> Iterator[tuple[Any, Any]]:
    from dask_jobqueue import SLURMCluster

    settings: dict[str, Any] = {
        "queue": "compute",
        "cores": 1,
        "processes": 1,
        "memory": "1GB",
        "walltime": "00:10:00",
        "job_name": name,
        "python": sys.executable,
        "log_directory": str(logs),
        "scheduler_options": {"interface": "lo", "port": 0, "dashboard_address": ":0"},
    }
    cluster = SLURMCluster(**{**settings, **options})
    client = Client(cluster, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        with contextlib.suppress(AssertionError):
            cluster.close()
        while [j for j in squeue(name) if j[1] in ("PD", "R", "CF")]:
            time.sleep(0.1)


def job_start(logs: Path, repeats: int) -> None:
    rows = []
    with slurm_cluster("bench-start", logs) as (cluster, client):
        for _ in range(repeats):
            started = time.perf_counter()
            cluster.scale(jobs=1)
            queued = running = None
            while running is None:
                jobs = squeue("bench-start")
                now = time.perf_counter() - started
                if jobs and queued is None:
                    queued = now
                if jobs and jobs[0][1] == "R":
                    running = now
                time.sleep(0.005)
            client.wait_for_workers(1, timeout=120)
            connected = time.perf_counter() - started
            rows.append((queued or 0.0, running, connected))
            cluster.scale(jobs=0)
            while client.scheduler_info()["workers"] or squeue("bench-start"):
                time.sleep(0.05)
    for queued, running, connected in rows:
        print(
            f"job start: in squeue {queued:.2f} s, running {running:.2f} s, "
            f"worker connected {connected:.2f} s"
        )


async def overhead(address: str, n: int, repeats: int) -> None:
    async with Client(address, asynchronous=True, set_as_default=False) as client:
        executor = DaskExecutor(client, on_state_mutation="ignore", sys_path=[str(HERE)])
        runtime = WorkflowRuntime()

        async def raw_fan_out() -> None:
            futures = [client.submit(noop, i, pure=False) for i in range(n)]
            for future in futures:
                await future

        async def raw_chain() -> None:
            value = 0
            for _ in range(n):
                value = await client.submit(noop, value, pure=False)

        async def ours(wf: Workflow[Any, Any, Any]) -> None:
            (await runtime.execute(wf, inputs=0, executor=executor)).raise_for_status()

        fan, line = independent(n), chain(n)
        async with executor:
            await ours(independent(8))  # warm-up: molexp imported on both workers
            await raw_fan_out()
            print(f"{'shape':<26} {'tasks':>6} {'molexp ms':>10} {'raw ms':>8} {'ratio':>6}")
            for name, wf, raw in (
                ("fan-out (all at once)", fan, raw_fan_out),
                ("chain", line, raw_chain),
            ):
                theirs = await best_of(repeats, raw) / n * 1e3
                mine = await best_of(repeats, lambda wf=wf: ours(wf)) / n * 1e3  # type: ignore[misc]
                print(f"{name:<26} {n:>6} {mine:>10.3f} {theirs:>8.3f} {mine / theirs:>6.2f}")


def lost_worker(logs: Path, folder: Path, timeout: float, repeats: int) -> None:
    for _ in range(repeats):
        for stale in folder.iterdir():
            stale.unlink()
        with slurm_cluster("bench-lost", logs) as (cluster, client):
            cluster.scale(jobs=1)
            client.wait_for_workers(1, timeout=120)
            wf: Workflow[None, None, None] = Workflow("lost")
            wf.add(Sleep(str(folder)), name="md")
            executor = DaskExecutor(client, worker_timeout=timeout, sys_path=[str(HERE)])

            async def main(wf: Workflow[None, None, None], executor: DaskExecutor) -> Any:
                pending = asyncio.create_task(WorkflowRuntime().execute(wf, executor=executor))
                while not list(folder.iterdir()):
                    await asyncio.sleep(0.01)
                [job] = folder.iterdir()
                killed = time.perf_counter()
                subprocess.run(["scancel", job.name], check=True)
                result = await pending
                return time.perf_counter() - killed, result

            elapsed, result = asyncio.run(main(wf, executor))
        assert isinstance(result.failure.exception, NoWorkerAvailable), result.failure
        print(
            f"scancel of the last worker job -> NoWorkerAvailable: {elapsed:.2f} s "
            f"(worker_timeout={timeout:g}: {elapsed - timeout:.2f} s to notice the loss)"
        )


def refused(logs: Path) -> None:
    with slurm_cluster("bench-refused", logs, job_extra_directives=["--constraint=gpu"]) as (
        cluster,
        client,
    ):
        wf: Workflow[None, None, None] = Workflow("refused")
        wf.add(Sleep("."), name="md")
        started = time.perf_counter()
        cluster.scale(jobs=1)
        result = asyncio.run(
            WorkflowRuntime().execute(wf, executor=DaskExecutor(client, worker_timeout=300))
        )
        elapsed = time.perf_counter() - started
    assert isinstance(result.failure.exception, NoWorkerAvailable), result.failure
    print(f"sbatch refusing the job -> NoWorkerAvailable: {elapsed:.2f} s (worker_timeout=300)")


def main(quick: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        logs, folder = Path(tmp, "logs"), Path(tmp, "started")
        folder.mkdir()
        job_start(logs, 2 if quick else 5)
        with slurm_cluster("bench-overhead", logs, cores=2, processes=2) as (cluster, client):
            cluster.scale(jobs=1)
            client.wait_for_workers(2, timeout=120)
            asyncio.run(
                overhead(cluster.scheduler_address, 60 if quick else 300, 2 if quick else 5)
            )
        lost_worker(logs, folder, 5.0, 1 if quick else 3)
        refused(logs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer tasks, fewer repeats")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    main(parser.parse_args().quick)
