"""On a real single-node Slurm (``scripts/slurm-local.sh``; CI starts it, see .ci/run).

- the Slurm section of docs/distributed.md runs as written: every code block, with only
  the partition-specific sizes, the interface, the venv path and the scheduler address
  changed to fit this machine;
- a job killed at its walltime, the last worker job cancelled (``scancel``), a job
  ``sbatch`` refuses: each fails the run with a clear error instead of hanging or being
  recorded as succeeded; with ``adapt()`` a lost job is replaced and the task completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import distributed
import pytest

from cluster.tasks import InSlurmJob
from molexp import Workflow, WorkflowRuntime
from molexp.executors import DaskExecutor, NoWorkerAvailable, WorkerLost
from molexp.workspace import Workspace

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[2]
TESTS = str(ROOT / "tests")  # workers import cluster.tasks from here (sys_path=)
DOC = ROOT / "docs" / "distributed.md"
DOCUMENTED_ADDRESS = "tcp://10.10.0.1:39071"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def slurm_section() -> list[tuple[str, str]]:
    text = DOC.read_text()
    start = text.index("## Slurm with dask-jobqueue")
    end = text.index("\n## ", start + 1)
    return FENCE.findall(text[start:end])


def squeue(name: str) -> list[tuple[str, str]]:
    """(job id, state) of the jobs named ``name`` still queued or running."""
    out = subprocess.run(
        ["squeue", "-h", "-n", name, "-t", "PD,R,CF", "-o", "%i %t"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(line.split()) for line in out.splitlines()]  # type: ignore[misc]


def wait_until_gone(name: str, seconds: float = 60, *, cancel_after: float | None = None) -> None:
    """Wait for the jobs named ``name`` to leave the queue; with ``cancel_after``, scancel
    what is still there after that long (a loaded controller can be slow to reap a job
    whose worker was closed; the test's subject is not that)."""
    start = time.monotonic()
    cancelled = False
    while squeue(name):
        waited = time.monotonic() - start
        if cancel_after is not None and not cancelled and waited > cancel_after:
            subprocess.run(["scancel", "-n", name], check=False)
            cancelled = True
        assert waited < seconds, f"jobs {name!r} still queued: {squeue(name)}"
        time.sleep(0.2)


def activate_script(folder: Path) -> Path:
    """The venv the workers activate: this interpreter's, or a made-up one for it."""
    if sys.prefix != sys.base_prefix and Path(sys.prefix, "bin", "activate").is_file():
        return Path(sys.prefix, "bin", "activate")
    bin_dir = folder / "env" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return bin_dir / "activate"


def replace_once(code: str, old: str, new: str) -> str:
    assert code.count(old) == 1, f"the documented recipe no longer contains {old!r}"
    return code.replace(old, new)


@contextlib.contextmanager
def slurm_cluster(tmp_path: Path, name: str, **options: Any) -> Iterator[tuple[Any, Any]]:
    from dask_jobqueue import SLURMCluster

    settings: dict[str, Any] = {
        "queue": "compute",
        "cores": 1,
        "processes": 1,
        "memory": "1GB",
        "walltime": "00:10:00",
        "job_name": name,
        "python": sys.executable,
        "log_directory": str(tmp_path / "logs"),
        "scheduler_options": {"interface": "lo", "port": 0, "dashboard_address": ":0"},
    }
    cluster = SLURMCluster(**{**settings, **options})
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield cluster, client
    finally:
        client.close()
        # dask-jobqueue cannot close a job sbatch refused (AssertionError: Status.created)
        with contextlib.suppress(AssertionError):
            cluster.close()
        wait_until_gone(name, 120, cancel_after=30)  # cleanup only: never leave jobs behind


def one_task(task: Any) -> Workflow[None, None, None]:
    wf: Workflow[None, None, None] = Workflow("one")
    wf.add(task, name="md", executor="cluster")
    return wf


def test_the_documented_recipe_runs_as_written(
    slurm: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = slurm_section()
    assert [kind for kind, _ in blocks] == ["py", "text", "py", "bash", "py"], (
        "a code block was added to or removed from the Slurm section: execute it here"
    )
    (_, make_cluster), (_, job_script), (_, scale_and_run), (_, cli), (_, close) = blocks
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "scratch"))  # a compute node's local disk
    (tmp_path / "scratch").mkdir()
    activate = activate_script(tmp_path)

    # The first example of the page defines the workflow (and runs it once locally).
    first = re.search(r"^```python\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert first is not None
    namespace: dict[str, Any] = {"__name__": "doc_distributed"}
    exec(compile(first.group(1), "distributed.md first python block", "exec"), namespace)

    # Site values of this one-node cluster; everything else as documented.
    code = replace_once(make_cluster, "cores=8,", "cores=2,")
    code = replace_once(code, 'memory="32GB"', 'memory="4GB"')
    code = replace_once(code, 'walltime="02:00:00"', 'walltime="00:10:00"')
    code = replace_once(code, '"interface": "ib0"', '"interface": "lo"')
    code = replace_once(code, "~/venvs/molexp/bin/activate", str(activate))
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code, "distributed.md slurm-cluster", "exec"), namespace)
        cluster = namespace["cluster"]
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:") and not address.endswith(":8786")
        expected = replace_once(job_script, "--cpus-per-task=8", "--cpus-per-task=2")
        expected = replace_once(expected, "--mem=30G", "--mem=4G")
        expected = replace_once(expected, "-t 02:00:00", "-t 00:10:00")
        expected = replace_once(expected, "~/venvs/molexp/bin/activate", str(activate))
        expected = replace_once(expected, DOCUMENTED_ADDRESS, address)
        expected = replace_once(expected, "--nthreads 4", "--nthreads 1")
        expected = replace_once(expected, "--memory-limit 14.90GiB", "--memory-limit 1.86GiB")
        assert printed.getvalue().strip() == expected.strip()

        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(scale_and_run, "distributed.md scale and run", "exec"), namespace)
        assert re.match(r"mean energy -?\d+\.\d{4}\n", printed.getvalue()), printed.getvalue()
        assert f"scheduler at {address}" in printed.getvalue()
        run = namespace["run"]
        ws = namespace["ws"]
        assert run.status == "succeeded"
        jobs: set[str] = set()
        for i in range(4):
            [saved] = ws.catalog.query_assets(producer_task=f"r{i}", kind="artifact", run=run)
            assert saved.name == f"replicas/{i}.json" and saved.version == 1
            record = json.loads(saved.path.read_text())
            assert record["slurm_job"] is not None, f"r{i} did not run inside a Slurm job"
            jobs.add(record["slurm_job"])
        running = {job for job, _state in squeue("molexp-worker")}
        assert jobs <= running, (jobs, running)  # the cluster's worker jobs ran the tasks
        assert (tmp_path / "logs" / "dask").is_dir()

        # molexp run --dask against the same cluster, while it is up.
        (tmp_path / "workflow.py").write_text(
            textwrap.dedent(
                """
                import os

                from molexp import Task, TaskContext, Workflow


                class Where(Task[TaskContext[None, None, object], str]):
                    async def execute(self, ctx: TaskContext[None, None, object]) -> str:
                        job = os.environ.get("SLURM_JOB_ID", "none")
                        ctx.set_result(f"{ctx.task_id}_job", job)
                        return job


                wf = Workflow("where")
                login = wf.add(Where(), name="login")
                wf.add(Where(), after=login, name="compute", executor="cluster")
                """
            )
        )
        command = replace_once(cli, DOCUMENTED_ADDRESS, address)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        proc = subprocess.run(
            ["bash", "-euc", command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        [found] = (tmp_path / "molexp-workspace").glob("projects/*/experiments/*/runs/*/run.json")
        doc = json.loads(found.read_text())
        assert doc["status"] == "succeeded"
        for line in found.with_name("results.jsonl").read_text().splitlines():
            entry = json.loads(line)  # set_result values are appended here
            doc["results"][entry["key"]] = entry["value"]
        assert doc["results"]["login_job"] == "none"  # the molexp run process: no job
        assert doc["results"]["compute_job"] in running
    finally:
        exec(compile(close, "distributed.md close", "exec"), namespace)
    wait_until_gone("molexp-worker")  # closing the cluster cancelled its jobs


def test_a_job_killed_at_its_walltime_fails_the_run_without_raising(
    slurm: None, tmp_path: Path
) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("walltime").add_run()
    # 1 minute: Slurm's smallest limit; the task would run for 10.
    with slurm_cluster(tmp_path, "molexp-walltime", walltime="00:01:00") as (cluster, client):
        cluster.scale(jobs=1)
        client.wait_for_workers(1, timeout=120)
        executor = DaskExecutor(client, worker_timeout=5, sys_path=[TESTS])

        async def main() -> Any:
            async with run.start() as rc:  # the caller does not raise
                return await WorkflowRuntime().execute(
                    one_task(InSlurmJob(600)), run_context=rc, executors={"cluster": executor}
                )

        result = asyncio.run(main())
    assert result.failure is not None and result.failure.task_id == "md"
    assert isinstance(result.failure.exception, (NoWorkerAvailable, WorkerLost))
    assert run.status == "failed"
    assert run.error is not None and run.error.task_id == "md"
    assert run.error.type.startswith("molexp.executors.errors.")
    ws.close()


def test_cancelling_the_last_worker_job_fails_the_task_naming_what_was_seen(
    slurm: None, tmp_path: Path
) -> None:
    with slurm_cluster(tmp_path, "molexp-scancel") as (cluster, client):
        cluster.scale(jobs=1)
        client.wait_for_workers(1, timeout=120)
        executor = DaskExecutor(client, worker_timeout=3, sys_path=[TESTS])
        named = repr(executor)

        async def main() -> Any:
            pending = asyncio.create_task(
                WorkflowRuntime().execute(
                    one_task(InSlurmJob(600, str(tmp_path))), executors={"cluster": executor}
                )
            )
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob("started-*")):
                assert time.monotonic() < deadline, "the task never started"
                await asyncio.sleep(0.05)
            [started] = tmp_path.glob("started-*")
            subprocess.run(["scancel", started.name.removeprefix("started-")], check=True)
            return await pending

        result = asyncio.run(main())
    assert result.failure is not None and result.failure.task_id == "md"
    message = str(result.failure.exception)
    assert isinstance(result.failure.exception, NoWorkerAvailable), message
    assert message.startswith(f"task 'md': no Dask worker could run it on {named} for ")
    assert "no worker: the last one, 'SLURMCluster-0' at tcp://127.0.0.1:" in message
    assert "SLURMCluster has no worker job pending" in message


def test_with_adapt_a_cancelled_job_is_replaced_and_the_task_completes(
    slurm: None, tmp_path: Path
) -> None:
    # The cluster forgets a lost job after lost-worker-timeout (15 s by default), then
    # adapt() submits a replacement; shortened here to keep the test quick.
    with (
        dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}),
        slurm_cluster(tmp_path, "molexp-adapt") as (cluster, client),
    ):
        cluster.adapt(minimum_jobs=1, maximum_jobs=1)
        client.wait_for_workers(1, timeout=120)
        executor = DaskExecutor(client, worker_timeout=20, sys_path=[TESTS])

        async def main() -> Any:
            pending = asyncio.create_task(
                WorkflowRuntime().execute(
                    one_task(InSlurmJob(2, str(tmp_path))), executors={"cluster": executor}
                )
            )
            deadline = time.monotonic() + 60
            while not list(tmp_path.glob("started-*")):
                assert time.monotonic() < deadline, "the task never started"
                await asyncio.sleep(0.05)
            [started] = tmp_path.glob("started-*")
            first = started.name.removeprefix("started-")
            subprocess.run(["scancel", first], check=True)
            return first, await pending

        first, result = asyncio.run(main())
    assert result.failure is None, result.failure
    assert result.outputs["md"] not in (None, first)  # ran again, in the replacement job


def test_a_job_sbatch_refuses_fails_the_task_at_once_with_sbatch_error(
    slurm: None, tmp_path: Path
) -> None:
    with slurm_cluster(
        tmp_path, "molexp-constraint", job_extra_directives=["--constraint=gpu"]
    ) as (cluster, client):
        cluster.scale(jobs=1)
        executor = DaskExecutor(client, worker_timeout=120, sys_path=[TESTS])  # not waited
        result = asyncio.run(
            WorkflowRuntime().execute(one_task(InSlurmJob()), executors={"cluster": executor})
        )
    assert result.failure is not None and result.failure.task_id == "md"
    message = str(result.failure.exception)
    assert isinstance(result.failure.exception, NoWorkerAvailable), message
    assert "SLURMCluster could not submit worker job(s) SLURMCluster-0: RuntimeError: " in message
    assert "sbatch: error: Batch job submission failed: Invalid feature specification" in message
