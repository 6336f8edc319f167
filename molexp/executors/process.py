"""ProcessExecutor: CPU parallelism on this machine, without a cluster.

Task bodies run in a pool of worker processes (``concurrent.futures.ProcessPoolExecutor``,
``spawn`` start method by default: no fork of a process that runs an event loop and
threads). The call travels exactly as to a Dask worker (``molexp.executors.remote``: packed
with cloudpickle, a ``TaskNotPicklable`` naming the task and the part that does not pickle,
records staged by the worker into the run folder and registered here, results merged,
``ctx.state`` changes refused by default), so a workflow behaves the same in-process, on
processes and on Dask.

The pool starts with the first ``execute`` that uses the executor and stops when that
``execute`` ends; ``async with ProcessExecutor(...) as pool:`` keeps one pool across
executions (workers then keep their imports warm). A task cancelled while running (a
sibling failed, the run was cancelled) cannot be interrupted inside its process: its
result is dropped and the pool's processes are terminated when the execution ends.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from molexp.executors.errors import WorkerLost
from molexp.executors.remote import MutationPolicy, finish, pack, run_packed
from molexp.runtime.executor import Executor, TaskCall

__all__ = ["ProcessExecutor"]

_ENGINE = "a worker process"


class ProcessExecutor(Executor):
    """Runs each task body in one of ``max_workers`` worker processes of this machine.

    ``max_workers`` defaults to the number of CPUs this process may use. ``start_method``
    is a ``multiprocessing`` start method (``"spawn"`` by default; ``"forkserver"`` or
    ``"fork"`` start faster where they are safe). ``on_state_mutation`` is as for
    ``DaskExecutor``: a worker gets a snapshot of ``ctx.state``, and a change to it fails the
    task (``"error"``), warns (``"warn"``) or is ignored (``"ignore"``). ``sys_path``
    folders are put first on every worker's ``sys.path`` (where task modules import from;
    the workers otherwise start with this process's ``sys.path``).

    Worth it for CPU-bound Python task bodies (force fields, analysis loops) that hold the
    GIL; I/O-bound or subprocess-driven bodies run as well in-process (``await`` a
    subprocess, or ``asyncio.to_thread`` for a blocking call that releases the GIL).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        start_method: str = "spawn",
        on_state_mutation: MutationPolicy = "error",
        sys_path: Sequence[str] = (),
    ) -> None:
        if max_workers is not None and (
            not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
        ):
            raise ValueError(f"max_workers must be a positive integer or None, got {max_workers!r}")
        if start_method not in multiprocessing.get_all_start_methods():
            known = ", ".join(multiprocessing.get_all_start_methods())
            raise ValueError(f"start_method {start_method!r} is not one of: {known}")
        if on_state_mutation not in ("error", "warn", "ignore"):
            raise ValueError(
                f"on_state_mutation must be 'error', 'warn' or 'ignore', not {on_state_mutation!r}"
            )
        self.max_workers = max_workers or _cpus()
        self.start_method = start_method
        self.on_state_mutation: MutationPolicy = on_state_mutation
        self.sys_path = tuple(str(p) for p in sys_path)
        self._pool: ProcessPoolExecutor | None = None
        self._users = 0
        self._held = False  # inside `async with`: the pool outlives each execute
        self._abandoned = False

    # -- lifecycle --------------------------------------------------------------------------

    async def prepare(self) -> None:
        self._users += 1
        if self._pool is None:
            context = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=context,
                initializer=_add_paths,
                initargs=(self.sys_path,),
            )

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and not self._held:
            await self._shutdown()
        elif self._abandoned and self._users == 0:
            await self._shutdown()  # a running body was abandoned: do not let it linger

    async def __aenter__(self) -> ProcessExecutor:
        self._held = True
        await self.prepare()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._held = False
        await self.release()

    async def _shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._abandoned:
            # A body still running in a worker was cancelled: stop its process.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        self._abandoned = False
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: pool.shutdown(wait=True, cancel_futures=True)
        )

    # -- running ----------------------------------------------------------------------------

    async def run(self, call: TaskCall) -> Any:
        pool = self._pool
        if pool is None:
            raise RuntimeError(
                f"task {call.task_id!r}: ProcessExecutor.run() outside an execution; pass the "
                "executor to WorkflowRuntime.execute (or use `async with executor:`)"
            )
        blob = pack(call, check_state=self.on_state_mutation != "ignore", engine=_ENGINE)
        try:
            future: Future[bytes] = pool.submit(run_packed, call.task_id, blob)
        except BrokenProcessPool as exc:
            raise _lost(call, exc) from exc
        try:
            packed = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.cancel():  # already running in a worker: abandon it
                self._abandoned = True
            raise
        except BrokenProcessPool as exc:
            raise _lost(call, exc) from exc
        return finish(call, packed, on_state_mutation=self.on_state_mutation, engine=_ENGINE)

    def __repr__(self) -> str:
        return f"ProcessExecutor(max_workers={self.max_workers})"


def _lost(call: TaskCall, exc: BaseException) -> WorkerLost:
    return WorkerLost(
        f"task {call.task_id!r}: a worker process of the ProcessExecutor died ({exc}); a "
        "crash, os._exit or the out-of-memory killer. The pool cannot run more tasks in this "
        "execution"
    )


def _add_paths(paths: tuple[str, ...]) -> None:
    """Pool initializer: the task modules' folders first on the worker's ``sys.path``."""
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
