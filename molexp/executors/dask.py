"""DaskExecutor: run task bodies on a Dask distributed cluster (``pip install molexp[dask]``).

The only molexp module that imports Dask. The scheduling stays in ``WorkflowRuntime``: when a
task is ready, its call is packed (``molexp.executors.remote.pack``: a clear error naming
the task when something does not pickle, before anything is submitted), submitted with
``client.submit`` as one Dask task (key ``molexp-<task id>-<uuid>``), awaited on the
runtime's event loop, and its outcome applied here (records registered, results merged).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from distributed import Client, Future, KilledWorker
from distributed.diagnostics.plugin import WorkerPlugin

from molexp.executors.errors import WorkerLost
from molexp.executors.remote import MutationPolicy, finish, pack, run_packed
from molexp.runtime.executor import Executor, TaskCall

__all__ = ["DaskExecutor"]

_ENGINE = "a Dask worker"
_CANCEL_TIMEOUT = 10.0


class DaskExecutor(Executor):
    """Runs each task body as one Dask task on the cluster behind ``client_or_address``.

    ``client_or_address``: a ``distributed.Client`` (synchronous or asynchronous) or a
    scheduler address (``"tcp://host:8786"``). molexp talks to the scheduler through an
    asynchronous client on the runtime's event loop: the given one when it runs on that
    loop, else its own, opened for each ``execute`` (or once for ``async with executor:``).

    ``on_state_mutation``: a remote task gets a *snapshot* of ``ctx.state``; what it changes
    there is lost. ``"error"`` (the default) fails the task naming the changed fields,
    ``"warn"`` emits a ``StateMutationWarning``, ``"ignore"`` skips the check (and the cost
    of pickling the state twice on the worker).

    ``resources`` are Dask worker resources each task needs (``{"GPU": 1}``); bind one
    executor per label to give task groups different resources. ``sys_path`` folders are
    put first on every worker's ``sys.path`` (present and future workers), so that task
    modules on a shared filesystem import there.
    """

    def __init__(
        self,
        client_or_address: Client | str,
        *,
        on_state_mutation: MutationPolicy = "error",
        resources: Mapping[str, float] | None = None,
        sys_path: Sequence[str] = (),
    ) -> None:
        if not isinstance(client_or_address, (Client, str)) or not client_or_address:
            raise TypeError(
                "DaskExecutor takes a distributed.Client or a scheduler address "
                f"('tcp://host:8786'), not {client_or_address!r}"
            )
        if on_state_mutation not in ("error", "warn", "ignore"):
            raise ValueError(
                f"on_state_mutation must be 'error', 'warn' or 'ignore', not {on_state_mutation!r}"
            )
        if isinstance(sys_path, str):
            raise TypeError("sys_path must be a sequence of folders, not a single str")
        self._given = client_or_address
        self.on_state_mutation: MutationPolicy = on_state_mutation
        self.resources = dict(resources) if resources else None
        self.sys_path = tuple(str(p) for p in sys_path)
        self._client: Any = None  # a distributed.Client (its methods are untyped)
        self._owned = False
        self._users = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def client(self) -> Client | None:
        """The asynchronous client in use while an execution runs (else None)."""
        client: Client | None = self._client
        return client

    async def prepare(self) -> None:
        self._users += 1
        if self._client is not None:
            return
        try:
            await self._connect()
        except BaseException:
            self._users -= 1
            raise

    async def _connect(self) -> None:
        given: Any = self._given
        loop = asyncio.get_running_loop()
        client: Any
        if isinstance(given, Client) and given.asynchronous and _loop_of(given) is loop:
            client, owned = given, False
        else:
            if isinstance(given, str):
                address, security = given, None
            else:
                address, security = given.scheduler.address, given.security
            make: Any = Client  # awaitable when asynchronous
            client = await make(address, asynchronous=True, security=security, set_as_default=False)
            owned = True
        try:
            if self.sys_path:
                digest = hashlib.sha1("\0".join(self.sys_path).encode()).hexdigest()[:12]
                await client.register_plugin(
                    _SysPath(self.sys_path), name=f"molexp-sys-path-{digest}"
                )
        except BaseException:
            if owned:
                await client.close()
            raise
        self._client, self._owned = client, owned

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users or self._client is None:
            return
        client, owned = self._client, self._owned
        self._client, self._owned = None, False
        if owned:
            await client.close()

    async def __aenter__(self) -> DaskExecutor:
        """Keep one connection open across several ``execute`` calls."""
        await self.prepare()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.release()

    # -- running one task -----------------------------------------------------------------

    async def run(self, call: TaskCall) -> Any:
        client: Any = self._client
        if client is None:
            raise RuntimeError(
                f"task {call.task_id!r}: DaskExecutor.run() outside an execution; pass the "
                "executor to WorkflowRuntime.execute (or use `async with executor:`)"
            )
        blob = pack(call, check_state=self.on_state_mutation != "ignore", engine=_ENGINE)
        future: Future[Any] = client.submit(
            run_packed,
            call.task_id,
            blob,
            key=f"molexp-{call.task_id}-{uuid.uuid4().hex}",
            pure=False,
            resources=self.resources,
        )
        try:
            packed: bytes = await future
        except asyncio.CancelledError:
            await _cancel(client, future)
            raise
        except KilledWorker as exc:
            raise WorkerLost(
                f"task {call.task_id!r}: the Dask worker running it died ({exc}); a crash, "
                "os._exit, a memory limit or a lost node. Dask retries a task on another "
                "worker up to distributed.scheduler.allowed-failures times"
            ) from exc
        return finish(call, packed, on_state_mutation=self.on_state_mutation, engine=_ENGINE)

    def __repr__(self) -> str:
        given: Any = self._given
        if isinstance(given, str):
            return f"DaskExecutor({given!r})"
        scheduler = getattr(given, "scheduler", None)
        return f"DaskExecutor(Client({getattr(scheduler, 'address', None)!r}))"


async def _cancel(client: Any, future: Future[Any]) -> None:
    """Cancel a remote future; a broken connection must not hang the cancellation."""
    try:
        await asyncio.wait_for(client.cancel([future], force=True), _CANCEL_TIMEOUT)
    except (Exception, asyncio.CancelledError):
        pass


def _loop_of(client: Any) -> asyncio.AbstractEventLoop | None:
    loop: asyncio.AbstractEventLoop | None = getattr(
        getattr(client, "loop", None), "asyncio_loop", None
    )
    return loop


class _SysPath(WorkerPlugin):
    """Puts folders first on a worker's ``sys.path`` (registered by ``sys_path=``)."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths

    def setup(self, worker: Any) -> None:
        for path in reversed(self.paths):
            if path not in sys.path:
                sys.path.insert(0, path)
