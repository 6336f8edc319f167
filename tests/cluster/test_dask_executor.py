"""DaskExecutor on a real LocalCluster (127.0.0.1, 2 worker processes)."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from cluster.conftest import scheduler_keys
from cluster.tasks import (
    Crash,
    Fail,
    HoldsLock,
    Join,
    Mutate,
    Noop,
    Note,
    RaiseOdd,
    ReadState,
    ReturnsLock,
    SaveSpectrum,
    Slow,
    Split,
    State,
    Where,
    Work,
)
from molexp import Workflow, WorkflowResult, WorkflowRuntime
from molexp.executors import (
    DaskExecutor,
    RemoteTaskError,
    StateMutationError,
    StateMutationWarning,
    TaskNotPicklable,
    WorkerLost,
)
from molexp.workspace import Workspace

WIDTH = 4


def fan_out_in(*, label: str | None = None) -> Workflow[State, None, int]:
    wf: Workflow[State, None, int] = Workflow("fan", state=State, input=int)
    split = wf.add(Split())
    parts = {
        f"w{i}": wf.add(Work(i), after=split, name=f"w{i}", executor=label) for i in range(WIDTH)
    }
    wf.add(Join(), after=parts)
    return wf


def execute(wf: Workflow[Any, Any, Any], **kwargs: Any) -> WorkflowResult:
    return asyncio.run(WorkflowRuntime().execute(wf, **kwargs))


def test_fan_out_fan_in_under_a_tracked_run(client: Any, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("demo").experiment("fan").add_run()

    async def main() -> WorkflowResult:
        async with run.start(profile={"width": WIDTH}) as rc:
            result = await WorkflowRuntime().execute(
                fan_out_in(), inputs=10, run_context=rc, executor=DaskExecutor(client)
            )
            result.raise_for_status()
            return result

    result = asyncio.run(main())
    parts = [result.outputs[f"w{i}"] for i in range(WIDTH)]
    assert result.outputs["join"] == list(range(WIDTH))
    assert all(p.pid != os.getpid() and p.where.startswith("tcp://127.0.0.1") for p in parts)
    assert result.results == {f"size_{i}": 10 * i for i in range(WIDTH)}
    # Results set on the workers persist with the run; records were registered by the driver.
    assert run.status == "succeeded" and run.results == result.results
    by_task = {}
    for asset in run.assets():
        assert asset.producer is not None and asset.producer.run_id == run.id
        by_task.setdefault(asset.producer.task_id, []).append((asset.kind, asset.name))
    for i in range(WIDTH):
        assert ("artifact", f"parts/{i}.json") in by_task[f"w{i}"]
        assert [k for k, _ in by_task[f"w{i}"]].count("checkpoint") == 2
    assert by_task["join"] == [("artifact", "summary.json")]
    assert sum(("log", "work") in v for v in by_task.values()) == 1  # one log, first writer
    for i in range(WIDTH):
        catalog = ws.catalog.query_assets(producer_task=f"w{i}", kind="artifact")
        assert [a.name for a in catalog] == [f"parts/{i}.json"]
        assert catalog[0].load()["index"] == i
        assert catalog[0].producer is not None and catalog[0].producer.workflow == "fan"
    chain = run.assets("checkpoint")
    assert [c.version for c in chain] == list(range(1, 2 * WIDTH + 1))
    assert all(c.previous == p.id for p, c in itertools.pairwise(chain))
    log = ws.catalog.query_assets(kind="log")[0]
    lines = log.read_text().splitlines()
    assert log.line_count == len(lines) == 2 * WIDTH
    assert sorted(line.split()[0] for line in lines) == sorted([f"w{i}" for i in range(WIDTH)] * 2)
    assert (run.path / "artifacts" / "parts" / "0.json").is_file()
    ws.close()


def test_a_task_exception_fails_the_run_naming_the_task_and_keeps_its_records(
    client: Any, tmp_path: Path
) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("demo").experiment("fail").add_run()
    wf = Workflow("failing")
    wf.add(Fail())

    async def main() -> WorkflowResult:
        async with run.start() as rc:
            result = await WorkflowRuntime().execute(
                wf, run_context=rc, executor=DaskExecutor(client)
            )
            if result.failure is not None:
                rc.fail(result.failure.exception, traceback=result.failure.traceback)
            return result

    result = asyncio.run(main())
    assert result.status == "failed" and result.failure is not None
    assert result.failure.task_id == "fail"
    assert isinstance(result.failure.exception, ValueError)  # the task's own exception type
    assert "bad input on tcp://127.0.0.1" in str(result.failure.exception)
    assert "raised on a Dask worker" in result.failure.traceback
    assert 'tasks.py", line' in result.failure.traceback  # the worker-side frames
    assert run.status == "failed" and run.error is not None and run.error.type == "ValueError"
    [saved] = run.assets("artifact")
    assert saved.name == "before-failure.txt" and saved.producer is not None
    assert saved.producer.task_id == "fail"

    odd = Workflow("odd")
    odd.add(RaiseOdd())
    failed = execute(odd, executor=DaskExecutor(client))
    assert failed.failure is not None and failed.failure.task_id == "raise_odd"
    error = failed.failure.exception
    assert isinstance(error, RemoteTaskError) and "Unpicklable: odd failure" in str(error)
    ws.close()


def test_cancelling_the_run_cancels_the_remote_futures(client: Any, tmp_path: Path) -> None:
    wf = Workflow("slow")
    for i in range(3):  # two run (one per worker), the third waits in the scheduler
        wf.add(Slow(str(tmp_path)), name=f"slow{i}")

    async def main() -> None:
        pending = asyncio.create_task(WorkflowRuntime().execute(wf, executor=DaskExecutor(client)))
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("started-*"))) < 2:
            assert time.monotonic() < deadline, "the slow tasks never started"
            await asyncio.sleep(0.05)
        assert len(await asyncio.to_thread(scheduler_keys, client, "molexp-slow")) == 3
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    try:
        asyncio.run(main())
        deadline = time.monotonic() + 10
        while scheduler_keys(client, "molexp-slow"):
            assert time.monotonic() < deadline, scheduler_keys(client, "molexp-slow")
            time.sleep(0.05)
        assert not (tmp_path / "started-slow2").exists()  # the queued one never ran
    finally:
        (tmp_path / "stop").touch()  # let the running bodies return (threads cannot be killed)


def test_a_task_that_cannot_be_pickled_is_refused_before_submission(client: Any) -> None:
    wf = Workflow("locks")
    wf.add(HoldsLock())
    result = execute(wf, executor=DaskExecutor(client))
    assert result.failure is not None and result.failure.task_id == "holds_lock"
    error = result.failure.exception
    assert isinstance(error, TaskNotPicklable)
    assert "task 'holds_lock' cannot run on a Dask worker: its task object" in str(error)
    assert "cannot pickle '_thread.lock' object" in str(error)
    assert scheduler_keys(client, "molexp-holds_lock") == []  # nothing was submitted

    deps = Workflow("deps")
    deps.add(Noop())
    result = execute(deps, deps=threading.Lock(), executor=DaskExecutor(client))
    assert result.failure is not None
    assert "its deps (_thread.lock) cannot be pickled" in str(result.failure.exception)

    back = Workflow("back")
    back.add(ReturnsLock())
    result = execute(back, executor=DaskExecutor(client))
    assert result.failure is not None and result.failure.task_id == "returns_lock"
    assert isinstance(result.failure.exception, TaskNotPicklable)
    assert "its output (_thread.lock) cannot be pickled back" in str(result.failure.exception)


def test_mixed_local_and_remote_tasks(client: Any) -> None:
    result = execute(fan_out_in(label="heavy"), inputs=3, executors={"heavy": DaskExecutor(client)})
    result.raise_for_status()
    parts = [result.outputs[f"w{i}"] for i in range(WIDTH)]
    assert all(p.where.startswith("tcp://") and p.pid != os.getpid() for p in parts)
    assert result.outputs["join"] == list(range(WIDTH))

    wf = Workflow("mixed", state=State)
    first = wf.add(Note(), name="first")
    remote = wf.add(Where(), after=first, name="remote", executor="remote")
    reader = wf.add(ReadState(), after=first, name="reader", executor="remote")
    wf.add(Note(), after=[remote, reader], name="last")
    state = State(seen=["from the driver"])
    done = execute(wf, state=state, executors={"remote": DaskExecutor(client)})
    done.raise_for_status()
    assert done.output(remote).startswith("tcp://")
    # Local tasks share the driver's state; a remote task reads a snapshot taken when it
    # was submitted (after `first` ran).
    assert state.seen == ["from the driver", "first on local", "last on local"]
    assert done.output(reader) == ["from the driver", "first on local"]


def test_a_worker_crash_fails_the_run_naming_the_task(client: Any) -> None:
    wf = Workflow("crash")
    wf.add(Noop(), name="fine")
    wf.add(Crash())
    result = execute(wf, executor=DaskExecutor(client))
    assert result.failure is not None and result.failure.task_id == "crash"
    assert isinstance(result.failure.exception, WorkerLost)
    assert "task 'crash': the Dask worker running it died" in str(result.failure.exception)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it


def test_state_mutation_on_a_worker_is_detected(client: Any) -> None:
    wf = Workflow("mutate", state=State)
    node = wf.add(Mutate())
    state = State()
    result = execute(wf, state=state, executor=DaskExecutor(client))
    assert result.failure is not None and result.failure.task_id == "mutate"
    error = result.failure.exception
    assert isinstance(error, StateMutationError)
    assert "task 'mutate' changed ctx.state.steps on a Dask worker" in str(error)
    assert state.steps == 0  # the snapshot changed, not the driver's state

    with pytest.warns(StateMutationWarning, match=r"changed ctx\.state\.steps"):
        warned = execute(wf, state=state, executor=DaskExecutor(client, on_state_mutation="warn"))
    assert warned.ok and warned.output(node) == 1 and state.steps == 0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ignored = execute(
            wf, state=state, executor=DaskExecutor(client, on_state_mutation="ignore")
        )
    assert ignored.ok


def test_an_asynchronous_client_or_an_address(client: Any) -> None:
    from distributed import Client

    address = client.scheduler.address
    wf = Workflow("where")
    node = wf.add(Where())

    async def main() -> None:
        async with Client(address, asynchronous=True, set_as_default=False) as own:
            executor = DaskExecutor(own)
            result = await WorkflowRuntime().execute(wf, executor=executor)
            assert result.output(node).startswith("tcp://")
            assert executor.client is None  # released; the caller's client stays open
            assert own.status == "running"
        by_address = DaskExecutor(address)
        async with by_address:  # one connection for several executions
            for _ in range(2):
                result = await WorkflowRuntime().execute(wf, executor=by_address)
                assert result.output(node).startswith("tcp://")
            assert by_address.client is not None
        assert by_address.client is None

    asyncio.run(main())
    assert repr(DaskExecutor(address)) == f"DaskExecutor({address!r})"
    with pytest.raises(TypeError, match="a distributed.Client or a scheduler address"):
        DaskExecutor(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="on_state_mutation"):
        DaskExecutor(address, on_state_mutation="sometimes")  # type: ignore[arg-type]


def test_a_codec_registered_in_the_driver_works_on_the_workers(client: Any, tmp_path: Path) -> None:
    """The worker processes import cluster.tasks, which registers nothing: the codec comes
    with the packed task."""
    from cluster.tasks import Spectrum, spectrum_codec
    from molexp import codecs

    codec = spectrum_codec()
    codecs.register(codec)
    try:
        wf = Workflow("spectra")
        save = wf.add(SaveSpectrum())
        run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()

        async def main() -> WorkflowResult:
            async with run.start() as rc:
                result = await WorkflowRuntime().execute(
                    wf, run_context=rc, executor=DaskExecutor(client)
                )
                result.raise_for_status()
                return result

        result = asyncio.run(main())
        assert result.output(save).startswith("tcp://127.0.0.1")  # it ran on a worker
        [asset] = run.assets("artifact")
        assert (asset.encoding, asset.media_type, asset.path.suffix) == (
            "tests.Spectrum",
            "text/x-peaks",
            ".peaks",
        )
        assert asset.path.read_text() == "1.5\n2.25\n3.0"
        loaded = asset.load(as_type=Spectrum)
        assert loaded.peaks == [1.5, 2.25, 3.0]
    finally:
        codecs.unregister(Spectrum)
