"""DaskExecutor: run task bodies on a Dask distributed cluster (``pip install molexp[dask]``).

The only molexp module that imports Dask. The scheduling stays in ``WorkflowRuntime``: when a
task is ready, its call is packed (``molexp.executors.remote.pack``: a clear error naming
the task when something does not pickle, before anything is submitted), submitted with
``client.submit`` as one Dask task (key ``molexp-<task id>-<uuid>``), awaited on the
runtime's event loop, and its outcome applied here (records registered, results merged).

While tasks wait, a watchdog (``_Watch``, one per connection) polls the scheduler: a task
that no worker can run fails with ``NoWorkerAvailable`` instead of waiting forever (see
``DaskExecutor``'s ``worker_timeout``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import sys
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from distributed import Client, Future, KilledWorker
from distributed.core import Status
from distributed.deploy.spec import ProcessInterface
from distributed.diagnostics.plugin import WorkerPlugin

from molexp.executors.errors import NoWorkerAvailable, WorkerLost
from molexp.executors.remote import MutationPolicy, finish, pack, run_packed
from molexp.runtime.executor import Executor, TaskCall

__all__ = ["DaskExecutor"]

_ENGINE = "a Dask worker"
_CANCEL_TIMEOUT = 10.0
DEFAULT_WORKER_TIMEOUT = 300.0


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

    ``worker_timeout`` (seconds, default 300; None: wait forever): how long a submitted
    task may wait while no worker can run it (no worker, or none with its ``resources``)
    and no worker job is pending. It then fails with ``NoWorkerAvailable`` naming the task,
    this executor and what was seen (the last worker lost and when, jobs pending, failed
    job submissions). When the client belongs to a ``SpecCluster`` (dask-jobqueue's
    ``SLURMCluster``, ``LocalCluster``: ``Client(cluster)``), jobs submitted but not yet
    connected count as pending: with ``cluster.adapt()`` the executor waits for
    replacements as long as they are queued; and a job submission the cluster could not
    make (``sbatch`` refused it) fails the waiting tasks at once, with the submit
    command's error. Given only an address, pending jobs are not visible: the timeout
    applies.
    """

    def __init__(
        self,
        client_or_address: Client | str,
        *,
        on_state_mutation: MutationPolicy = "error",
        resources: Mapping[str, float] | None = None,
        sys_path: Sequence[str] = (),
        worker_timeout: float | None = DEFAULT_WORKER_TIMEOUT,
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
        if worker_timeout is not None and (
            isinstance(worker_timeout, bool)
            or not isinstance(worker_timeout, (int, float))
            or not math.isfinite(worker_timeout)
            or worker_timeout <= 0
        ):
            raise ValueError(
                f"worker_timeout must be a positive number of seconds or None, not {worker_timeout!r}"
            )
        self._given = client_or_address
        self.on_state_mutation: MutationPolicy = on_state_mutation
        self.resources = dict(resources) if resources else None
        self.sys_path = tuple(str(p) for p in sys_path)
        self.worker_timeout = None if worker_timeout is None else float(worker_timeout)
        self._client: Any = None  # a distributed.Client (its methods are untyped)
        self._watch: _Watch | None = None
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
        if self.worker_timeout is not None:
            self._watch = _Watch(self, client, getattr(given, "cluster", None), self.worker_timeout)

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users or self._client is None:
            return
        client, owned, watch = self._client, self._owned, self._watch
        self._client, self._owned, self._watch = None, False, None
        if watch is not None:
            await watch.stop()
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
            watch = self._watch
            packed: bytes = await (future if watch is None else watch.wait(call.task_id, future))
        except asyncio.CancelledError:
            await _cancel(client, future)
            raise
        except NoWorkerAvailable:
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


class _Watch:
    """Notices when the cluster cannot run the tasks waiting on it (one per connection).

    While tasks wait, polls the scheduler every ``interval`` seconds. Tasks fail (the
    ``stalled`` future gets the reason) when no worker can run them and, if the cluster is
    known, no worker job is pending, for ``timeout`` seconds; or at once when the cluster's
    job submissions failed and nothing else is pending or running.
    """

    def __init__(self, executor: DaskExecutor, client: Any, cluster: Any, timeout: float) -> None:
        self.executor = executor
        self.client = client
        self.cluster = cluster if _is_spec_cluster(cluster) else None
        self.timeout = timeout
        self.interval = min(1.0, max(0.05, timeout / 5))
        self.waiting = 0
        self.stalled: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.since: float | None = None  # since when no worker could run the waiting tasks
        self.last_worker: tuple[str, str] | None = None  # (name, address) of the last live one
        self.lost_at: float | None = None  # when the live workers went from some to none
        self.arrived: weakref.WeakSet[Any] = weakref.WeakSet()  # jobs whose workers came
        self.failed_jobs: list[Any] = []
        self.failed_at: float | None = None  # when a failed job submission was first seen
        self.task: asyncio.Task[None] | None = None

    async def wait(self, task_id: str, future: Future[Any]) -> Any:
        """The future's result; ``NoWorkerAvailable`` naming ``task_id`` if the cluster stalls."""
        self.waiting += 1
        if self.task is None:
            self.task = asyncio.create_task(self._poll(), name="molexp-dask-watch")
        result = asyncio.ensure_future(future)
        stalled = self.stalled
        try:
            await asyncio.wait((result, stalled), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            result.cancel()
            raise
        finally:
            self.waiting -= 1
            if not self.waiting and self.stalled.done():
                self._reset()
        if result.done():
            return result.result()
        result.cancel()
        raise NoWorkerAvailable(f"task {task_id!r}: {stalled.result()}")

    def _reset(self) -> None:
        self.stalled = asyncio.get_running_loop().create_future()
        self.since = None

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _poll(self) -> None:
        while True:  # the first look at once: the workers there when the first task waits
            if not self.waiting or self.stalled.done():
                self.since = None
            else:
                try:
                    reason = await self._check()
                except Exception as exc:  # the watch must outlive a bad look
                    # The scheduler went away: the futures fail with the connection.
                    logging.getLogger("molexp.executors").debug("watch: %s", exc)
                    reason = None
                if reason is not None and not self.stalled.done():
                    self.stalled.set_result(reason)
            # Waiting for a failed submission's error text: look again soon.
            await asyncio.sleep(self.interval if self.failed_at is None else 0.05)

    async def _check(self) -> str | None:
        info = await self.client.scheduler.identity(n_workers=-1)
        workers = {
            address: worker
            for address, worker in (info.get("workers") or {}).items()
            if str(worker.get("status", "running")) in ("running", "paused", "init")
        }
        now = time.monotonic()
        if workers:
            address = next(reversed(workers))
            self.last_worker = (str(workers[address].get("name", address)), address)
            self.lost_at = None
        elif self.last_worker is not None and self.lost_at is None:
            self.lost_at = now
        able = [
            w
            for w in workers.values()
            if _offers(w.get("resources") or {}, self.executor.resources)
        ]
        # Always: it notes which jobs have arrived (a job that came and went is not pending).
        jobs = self._jobs({str(w.get("name")) for w in workers.values()})
        if able:
            self.since = None
            return None
        if jobs is not None:
            pending, failed = jobs
            if pending:
                self.since = None  # queued jobs: wait for them (as long as they are pending)
                return None
            if failed:
                # The cluster logs the submit error just after it records the failed job
                # (on its own thread): give the error up to a second to arrive.
                if self.failed_at is None:
                    self.failed_at = now
                if _SUBMIT_ERRORS.text(self.failed_jobs) or now - self.failed_at >= 1.0:
                    return self._describe(workers, jobs, waited=None)
                return None
        if self.since is None:
            self.since = now
        if now - self.since < self.timeout:
            return None
        return self._describe(workers, jobs, waited=now - self.since)

    def _jobs(self, names: set[str]) -> tuple[list[str], list[str]] | None:
        """The cluster's worker jobs not yet connected (pending) and never started (failed).

        A job counts as arrived once one of its workers was seen; one that came and went
        (lost, killed at its walltime) is no longer pending, although the SpecCluster keeps
        it for ``distributed.deploy.lost-worker-timeout`` (15 s).
        """
        cluster = self.cluster
        if cluster is None:
            return None
        try:  # a synchronous cluster changes these on its own thread: copy, retry next time
            jobs = list(cluster.workers.items())
            spec = dict(cluster.worker_spec)
        except RuntimeError:
            return [], []
        pending: list[str] = []
        failed: list[str] = []
        self.failed_jobs = []
        for name, job in jobs:
            group = (spec.get(name) or {}).get("group")
            expected = {f"{name}{suffix}" for suffix in group} if group else {str(name)}
            if expected & names:
                self.arrived.add(job)
            elif job in self.arrived:
                continue  # its workers came and went: lost, not pending
            elif getattr(job, "status", None) == Status.created:
                failed.append(str(name))  # in cluster.workers but never started
                self.failed_jobs.append(job)
            elif name in spec:
                pending.append(str(name))
        # Jobs being submitted (or workers being started) join cluster.workers only once
        # started; while the cluster corrects its state, what it lacks is under way.
        lock = getattr(cluster, "_lock", None)
        if getattr(cluster, "_correct_state_waiting", None) or (lock is not None and lock.locked()):
            started = {name for name, _job in jobs}
            pending.extend(str(name) for name in spec if name not in started)
        return pending, failed

    def _describe(
        self,
        workers: Mapping[str, Any],
        jobs: tuple[list[str], list[str]] | None,
        *,
        waited: float | None,
    ) -> str:
        executor = self.executor
        if workers:
            seen = f"{len(workers)} worker(s), none offering the resources {executor.resources}"
        elif self.last_worker is not None:
            name, address = self.last_worker
            ago = (
                ""
                if self.lost_at is None
                else f" {_seconds(time.monotonic() - self.lost_at)} s ago"
            )
            seen = f"no worker: the last one, {name!r} at {address}, left{ago} (lost job, walltime, preemption or scale-down)"
        else:
            seen = "no worker is connected to the scheduler"
        cluster = self.cluster
        if jobs is None:
            seen += (
                "; jobs pending in a batch queue are not visible to an executor given an "
                "address (pass the Client of the cluster object)"
            )
        else:
            kind = type(cluster).__name__
            _pending, failed = jobs
            if failed:
                errors = _SUBMIT_ERRORS.text(self.failed_jobs)
                seen += f"; {kind} could not submit worker job(s) {', '.join(failed)}" + (
                    f": {errors}" if errors else " (see its log for the submit command's error)"
                )
            else:
                seen += f"; {kind} has no worker job pending (scale it up or use cluster.adapt())"
        if waited is None:
            return f"no Dask worker can run it on {executor!r}: {seen}"
        return (
            f"no Dask worker could run it on {executor!r} for {_seconds(waited)} s "
            f"(worker_timeout={self.timeout:g}): {seen}"
        )


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _is_spec_cluster(cluster: Any) -> bool:
    return isinstance(getattr(cluster, "workers", None), dict) and isinstance(
        getattr(cluster, "worker_spec", None), dict
    )


def _offers(available: Mapping[str, Any], needed: Mapping[str, float] | None) -> bool:
    return not needed or all(float(available.get(k, 0)) >= v for k, v in needed.items())


class _SubmitErrors(logging.Handler):
    """Keeps, per worker job, the error a SpecCluster logged when it could not start it.

    dask-jobqueue submits jobs in a callback of the cluster's event loop; when ``sbatch``
    fails, the error is only logged (by tornado or asyncio, with its traceback). This
    handler, installed on those two loggers when this module is imported, finds the job in
    the traceback (``self`` of its ``start``) and remembers the error for the watch.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.by_job: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = record.exc_info[1] if record.exc_info else None
            if exc is None:
                return
            job = _job_in(exc.__traceback__)
            if job is None:
                return
            text = str(exc).strip()
            if "stderr:" in text:  # dask-jobqueue: "Command exited with non-zero exit code ..."
                command = text.split("Command:", 1)[-1].split("stdout:", 1)[0].strip()
                text = f"{text.split('stderr:', 1)[1].strip()} (command: {command})"
            self.by_job[job] = f"{type(exc).__name__}: {' '.join(text.split())}"
        except Exception:  # a log handler must never raise
            pass

    def text(self, jobs: Sequence[Any]) -> str:
        return "; ".join(dict.fromkeys(self.by_job[j] for j in jobs if j in self.by_job))


def _job_in(tb: TracebackType | None) -> Any:
    """The worker job (``ProcessInterface``) whose ``start`` raised, if the traceback has one."""
    inside = False
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name == "_correct_state_internal":
            inside = True
        elif inside and code.co_name == "start":
            job = tb.tb_frame.f_locals.get("self")
            if isinstance(job, ProcessInterface):
                return job
        tb = tb.tb_next
    return None


_SUBMIT_ERRORS = _SubmitErrors()
for _name in ("tornado.application", "asyncio"):
    logging.getLogger(_name).addHandler(_SUBMIT_ERRORS)


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
