"""A task timeout on a Dask worker: the remote future is cancelled, the error names the task."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from cluster.conftest import scheduler_keys
from cluster.tasks import Slow
from molexp import Workflow, WorkflowRuntime
from molexp.executors import DaskExecutor
from molexp.runtime import TaskTimeout


def test_a_timeout_cancels_the_remote_future_and_names_the_task(
    client: Any, tmp_path: Path
) -> None:
    wf: Workflow[None, None, None] = Workflow("slow")
    wf.add(Slow(str(tmp_path)), name="slow0", timeout=1.5)
    try:
        result = asyncio.run(WorkflowRuntime().execute(wf, executor=DaskExecutor(client)))
        exc = result.failure.exception if result.failure else None
        assert isinstance(exc, TaskTimeout), result.failure
        assert str(exc) == "task 'slow0' exceeded its timeout of 1.5 s"
        deadline = time.monotonic() + 10
        while scheduler_keys(client, "molexp-slow"):  # cancelled on the scheduler too
            assert time.monotonic() < deadline, scheduler_keys(client, "molexp-slow")
            time.sleep(0.05)
    finally:
        (tmp_path / "stop").touch()  # let the running body return (threads cannot be killed)
