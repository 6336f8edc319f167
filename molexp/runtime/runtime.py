"""WorkflowRuntime: schedules a workflow's tasks on asyncio.

Scheduling keeps an in-degree counter per node. A worker (one asyncio task) runs a node,
then marks its downstream nodes; newly ready nodes go to a ready queue. The worker itself
continues with one ready node and spawns workers for the rest, up to ``max_concurrency``
live workers, so a chain costs no task creation per step and a fan-out spawns exactly as
many workers as can run at once.

Failure: the first task that raises stops the execution. Running siblings are cancelled,
nothing downstream starts, and the result keeps the outputs that completed.
Cancelling the coroutine awaiting ``execute`` cancels every running task and waits for
them to unwind before the CancelledError propagates.

Where a task body runs is up to its executor (``molexp.runtime.executor``): the default
``LocalExecutor`` is inlined here (no call, no allocation); any other executor gets a
``TaskCall`` and is awaited like the body would be, so failure and cancellation work the
same for remote tasks.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from molexp.channel import Channel, ChannelClosed
from molexp.context import ActorContext, TaskContext
from molexp.profile import ProfileConfig
from molexp.runtime.compose import inner_executors, run_composed
from molexp.runtime.executor import Executor, LocalExecutor, TaskCall
from molexp.runtime.heap import frozen_heap
from molexp.runtime.observer import ExecutionObserver
from molexp.runtime.plan import Plan, plan_for
from molexp.runtime.result import TaskFailure, WorkflowResult
from molexp.workflow.actor import Actor
from molexp.workflow.errors import ActorYieldError
from molexp.workflow.fingerprint import check_fresh
from molexp.workflow.graph import Workflow
from molexp.workflow.task import Task

if TYPE_CHECKING:
    from molexp.runtime.persistence import NodeHook
    from molexp.workspace.run_context import RunContext

__all__ = ["WorkflowRuntime"]

logger = logging.getLogger("molexp.runtime")

S = TypeVar("S")
D = TypeVar("D")
I = TypeVar("I")  # noqa: E741 - the workflow input type


class WorkflowRuntime:
    """Schedules workflows from this process. ``max_concurrency`` bounds running task bodies.

    ``executor`` is the default executor of every ``execute`` (``LocalExecutor``: in this
    process).
    """

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        channel_capacity: int = 1024,
        executor: Executor | None = None,
    ) -> None:
        self.max_concurrency = _check_concurrency(max_concurrency)
        self.channel_capacity = channel_capacity
        self.executor = _check_executor(executor, "executor")

    async def execute(
        self,
        workflow: Workflow[S, D, I],
        *,
        state: S | None = None,
        deps: D | None = None,
        inputs: I | None = None,
        config: ProfileConfig | Mapping[str, Any] | None = None,
        run_context: RunContext | None = None,
        max_concurrency: int | None = None,
        channel_capacity: int | None = None,
        observer: ExecutionObserver | None = None,
        executor: Executor | None = None,
        executors: Mapping[str, Executor] | None = None,
        cache: bool = False,
    ) -> WorkflowResult[S]:
        """Run every task of ``workflow`` and return how it went (failures are not raised).

        Values not given are built from the profile by the workflow's ``make_state``,
        ``make_deps`` and ``make_input``; a declared state class without ``make_state`` is
        built with no arguments. ``inputs`` is what root tasks receive.
        ``config`` defaults to the run's profile under a run. ``channel_capacity`` bounds
        each actor's input buffer (backpressure); ``observer``
        is told when each task starts, finishes or fails (progress displays).

        ``executor`` runs the tasks (default: the runtime's, else ``LocalExecutor``);
        ``executors`` binds the labels given to ``wf.add(..., executor="label")``. When it
        is given, every label of the workflow must be in it (a ValueError names the task);
        without it labels are ignored. Actors always run locally.

        Under a run (``run_context=rc``) an execution that fails (a failed result, or an
        exception out of ``execute``) or is cancelled marks the run failed or cancelled,
        with the task and its error, whether or not the caller raises: a tracked run whose
        workflow failed is never recorded as succeeded.

        Under a run each task's output is stored, and tasks whose output an earlier attempt
        of the run stored (same code, parameters, config and upstreams) are not run again:
        starting a failed run again and executing the workflow resumes it. ``cache=True``
        opts every task into the workspace's cross-run cache (docs/resume.md).
        """
        if run_context is None:
            return await self._execute(
                workflow,
                state=state,
                deps=deps,
                inputs=inputs,
                config=config,
                run_context=None,
                max_concurrency=max_concurrency,
                channel_capacity=channel_capacity,
                observer=observer,
                executor=executor,
                executors=executors,
                cache=cache,
            )
        try:
            result = await self._execute(
                workflow,
                state=state,
                deps=deps,
                inputs=inputs,
                config=config,
                run_context=run_context,
                max_concurrency=max_concurrency,
                channel_capacity=channel_capacity,
                observer=observer,
                executor=executor,
                executors=executors,
                cache=cache,
            )
        except BaseException as exc:
            run_context.execution_ended(exc, cancelled=not isinstance(exc, Exception))
            raise
        failure = result.failure
        if failure is not None:
            run_context.execution_ended(
                failure.exception, traceback=failure.traceback, task_id=failure.task_id
            )
        from molexp.runtime.provenance import record_execution

        record_execution(run_context, workflow, result)  # run.json "execution"
        return result

    async def _execute(
        self,
        workflow: Workflow[S, D, I],
        *,
        state: S | None,
        deps: D | None,
        inputs: I | None,
        config: ProfileConfig | Mapping[str, Any] | None,
        run_context: RunContext | None,
        max_concurrency: int | None,
        channel_capacity: int | None,
        observer: ExecutionObserver | None,
        executor: Executor | None,
        executors: Mapping[str, Executor] | None,
        cache: bool = False,
    ) -> WorkflowResult[S]:
        if not isinstance(workflow, Workflow):
            raise TypeError(f"execute() takes a Workflow, not {type(workflow).__name__}")
        limit = _check_concurrency(max_concurrency) or self.max_concurrency
        if run_context is not None:
            if config is not None and ProfileConfig.coerce(config) != run_context.config:
                raise ValueError(
                    f"workflow {workflow.name!r}: config= differs from the profile the run was "
                    "started with; tasks would see one config and the run record another "
                    "(leave config out under a run, or start the run with that profile)"
                )
            config = run_context.config  # the profile the run was started with
        profile = ProfileConfig.coerce(config)
        _check_declared(workflow, deps=deps, inputs=inputs)
        check_fresh(workflow)  # a stale generated module: refuse before any task runs
        plan = plan_for(workflow)
        default = _check_executor(executor, "executor") or self.executor
        table = _executor_table(workflow, plan, default, executors)
        execution = _Execution(
            workflow,
            plan,
            state=_default_state(workflow, profile) if state is None else state,
            deps=_built(workflow, "make_deps", profile) if deps is None else deps,
            inputs=_built(workflow, "make_input", profile) if inputs is None else inputs,
            config=profile,
            observer=observer,
            run_context=run_context,
            limit=limit,
            channel_capacity=channel_capacity or self.channel_capacity,
            executors=table,
        )
        execution.placement = (default, executors)  # sub-workflows bind their labels alike
        if run_context is not None or workflow.has_policies():
            # Imported here: an in-memory run without retries or timeouts needs no hook,
            # and never loads the caching and workspace layers (issue 16).
            from molexp.runtime.persistence import make_hook

            execution.hook = make_hook(
                workflow,
                plan,
                run_context=run_context,
                config=profile,
                inputs=execution.inputs,
                cache=cache,
            )
        inner = inner_executors(workflow, table, default, executors) if any(plan.composed) else []
        used = _distinct([*(table or []), *inner])
        if not used:
            return await execution.run()
        prepared: list[Executor] = []
        try:
            for chosen in used:
                try:
                    await chosen.prepare()
                except Exception as exc:
                    raise RuntimeError(
                        f"workflow {workflow.name!r}: executor {chosen!r} could not start: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                prepared.append(chosen)
            return await execution.run()
        finally:
            for chosen in reversed(prepared):
                await chosen.release()


def _check_executor(executor: object, what: str) -> Executor | None:
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"{what} must be a molexp Executor (LocalExecutor, DaskExecutor, ...), "
            f"not {type(executor).__name__}"
        )
    return executor


def _executor_table(
    workflow: Workflow[Any, Any, Any],
    plan: Plan,
    default: Executor | None,
    executors: Mapping[str, Executor] | None,
) -> list[Executor | None] | None:
    """Per node: the executor to call, None for the inlined local path; None: all local."""
    labels = plan.executor_labels
    if executors is not None:
        if not isinstance(executors, Mapping):
            raise TypeError(
                f"executors must map labels to executors, not {type(executors).__name__}"
            )
        for label, bound in executors.items():
            _check_executor(bound, f"executors[{label!r}]")
        for index, needed in enumerate(labels):
            if needed is not None and needed not in executors:
                known = ", ".join(repr(k) for k in executors) or "none"
                raise ValueError(
                    f"workflow {workflow.name!r}, task {plan.ids[index]!r}: executor label "
                    f"{needed!r} is not bound; pass executors={{{needed!r}: ...}} "
                    f"(bound labels: {known})"
                )
    if type(default) is LocalExecutor:
        default = None
    if default is None and not executors:
        return None
    table: list[Executor | None] = []
    for index, node_label in enumerate(labels):
        node_executor: Executor | None = default
        if plan.is_actor[index]:
            node_executor = None  # actors stream through in-process channels
        elif node_label is not None and executors is not None:
            node_executor = executors[node_label]
        local = node_executor is None or type(node_executor) is LocalExecutor
        table.append(None if local else node_executor)
    return table if any(entry is not None for entry in table) else None


def _distinct(table: list[Executor | None] | None) -> list[Executor]:
    if table is None:
        return []
    out: list[Executor] = []
    for chosen in table:
        if chosen is not None and all(chosen is not seen for seen in out):
            out.append(chosen)
    return out


def _check_concurrency(value: int | None) -> int | None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"max_concurrency must be a positive integer or None, got {value!r}")
    return value


def _check_declared(workflow: Workflow[Any, Any, Any], *, deps: Any, inputs: Any) -> None:
    """A declared deps/input type needs a value or a factory; None would fail deep inside a task."""
    for label, value, declared, factory in (
        ("deps", deps, workflow.deps_type, workflow.make_deps),
        ("inputs", inputs, workflow.input_type, workflow.make_input),
    ):
        if value is None and factory is None and declared not in (None, type(None)):
            field = "input" if label == "inputs" else label
            raise TypeError(
                f"workflow {workflow.name!r} declares {field}={getattr(declared, '__name__', declared)} "
                f"but execute() got no {label}= and the workflow has no make_{field}= factory"
            )


def _built(workflow: Workflow[Any, Any, Any], factory_name: str, config: ProfileConfig) -> Any:
    factory = getattr(workflow, factory_name)
    if factory is None:
        return None
    try:
        return factory(config)
    except Exception as exc:
        raise RuntimeError(
            f"workflow {workflow.name!r}: {factory_name}(config) failed: {type(exc).__name__}: {exc}"
        ) from exc


def _default_state(workflow: Workflow[Any, Any, Any], config: ProfileConfig) -> Any:
    if workflow.make_state is not None:
        return _built(workflow, "make_state", config)
    state_type = workflow.state_type
    if state_type is None:
        return None
    try:
        return state_type()
    except TypeError as exc:
        raise TypeError(
            f"workflow {workflow.name!r} declares state={state_type.__name__}, which cannot be "
            f"built without arguments ({exc}); pass state=... to execute()"
        ) from exc


class _Execution:
    """The mutable bookkeeping of one ``execute`` call."""

    def __init__(
        self,
        workflow: Workflow[Any, Any, Any],
        plan: Plan,
        *,
        state: Any,
        deps: Any,
        inputs: Any,
        config: ProfileConfig,
        observer: ExecutionObserver | None,
        run_context: RunContext | None,
        limit: int | None,
        channel_capacity: int,
        executors: list[Executor | None] | None = None,
    ) -> None:
        self.workflow = workflow
        self.executors = executors
        self.hook: NodeHook | None = None  # resume, cache, retries (runtime.persistence)
        self.plan = plan
        self.state = state
        self.deps = deps
        self.inputs = inputs
        self.config = config
        self.observer = observer
        self.run_context = run_context
        self.limit = limit if limit is not None else len(plan.ids) + 1
        self.bounded = limit is not None  # else a map runs all its elements at once
        self.channel_capacity = channel_capacity
        self.prefix = ""
        """Prepended to every task id (``relax.`` for the inner tasks of a sub-workflow)."""
        self.placement: tuple[Executor | None, Mapping[str, Executor] | None] = (None, None)
        """The execution's default executor and label bindings (for inner workflows)."""
        self.results: dict[str, Any] = {}
        self.outputs: list[Any] = [None] * len(plan.ids)
        self.completed: list[bool] = [False] * len(plan.ids)
        self.durations: list[float] = [0.0] * len(plan.ids)
        self.remaining = list(plan.indegree)
        self.ready: deque[int] = deque()
        self.workers: set[asyncio.Task[None]] = set()
        self.task_workers = 0  # live workers counted against max_concurrency
        self.waiting = 0  # of those, spawned but not started yet (see _spawn_ready)
        self.finished = 0
        self.stopping = False
        self.failure: TaskFailure | None = None
        self.cancelled: list[int] = []
        self.done: asyncio.Future[None] | None = None
        self.yields: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        # Every actor input channel exists from the start: a producer may stream before
        # its consumer starts (the consumer waits for a task), bounded by the capacity.
        self.inboxes: dict[int, Channel[Any]] = {
            i: Channel(plan.ids[i], capacity=channel_capacity, producers=plan.producers[i])
            for i in range(len(plan.ids))
            if plan.producers[i]
        }

    async def run(self) -> WorkflowResult[Any]:
        try:
            return await self._run()
        finally:
            if self.hook is not None:
                self.hook.close()

    async def _run(self) -> WorkflowResult[Any]:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        if not self.plan.ids:
            self.done.set_result(None)
        for root in self.plan.roots:
            self._make_ready(root)
        self._spawn_ready()
        try:
            with frozen_heap(len(self.plan.ids)):
                await self.done
        except asyncio.CancelledError:
            await self._stop()
            raise
        if self.failure is not None:
            await self._stop()
        return self._result()

    # -- scheduling -----------------------------------------------------------------------

    def _spawn_ready(self) -> None:
        # One worker waiting to start is enough (issue 16: a 100k fan-out no longer holds
        # 100k asyncio tasks at once). A worker whose node finishes without suspending takes
        # the next ready node itself; when a node suspends, the waiting worker starts and
        # spawns the next one, so suspended nodes never hold up ready ones.
        if self.ready and self.waiting == 0 and self.task_workers < self.limit:
            self.task_workers += 1
            self.waiting += 1
            self.workers.add(asyncio.create_task(self._worker(self.ready.popleft())))

    def _make_ready(self, index: int) -> None:
        if self.plan.is_actor[index]:
            # An actor streams for as long as its producers do: it gets a worker of its own,
            # outside max_concurrency, or a producer blocked on a full channel could hold
            # the last slot its consumer is waiting for.
            self.workers.add(asyncio.create_task(self._worker(index, counted=False)))
        else:
            self.ready.append(index)

    async def _worker(self, index: int, *, counted: bool = True) -> None:
        plan = self.plan
        if counted:
            self.waiting -= 1
            self._spawn_ready()
        try:
            while True:
                try:
                    if not await self._run_node(index):
                        return
                except Exception as exc:
                    # Never let a worker die silently: the execution would wait forever.
                    self._fail(index, exc)
                    return
                for down in plan.downstream[index]:
                    self.remaining[down] -= 1
                    if self.remaining[down] == 0:
                        self._make_ready(down)
                self.finished += 1
                if self.finished == len(plan.ids):
                    assert self.done is not None
                    if not self.done.done():
                        self.done.set_result(None)
                    return
                if self.stopping:
                    return
                if not counted:  # an actor's worker does not take on queued tasks
                    self._spawn_ready()
                    return
                if not self.ready:
                    return
                index = self.ready.popleft()
                self._spawn_ready()
        finally:
            if counted:
                self.task_workers -= 1
            task = asyncio.current_task()
            if task is not None:
                self.workers.discard(task)

    async def _run_node(self, index: int) -> bool:
        plan = self.plan
        shape = plan.shape[index]
        if shape == 0:
            inputs = self.inputs
        elif shape == 1:
            inputs = self.outputs[plan.upstream[index][0][1]]
        elif shape == 2:
            outputs = self.outputs
            inputs = {key: outputs[up] for key, up in plan.upstream[index]}
        else:  # the homogeneous list/tuple a task declared, in after= order
            outputs = self.outputs
            values = [outputs[up] for _, up in plan.upstream[index]]
            inputs = values if shape == 3 else tuple(values)
        task_id = self.prefix + plan.ids[index]
        task = plan.tasks[index]
        observer = self.observer
        composed = plan.composed[index]
        if observer is not None and not composed:
            observer.task_started(task_id)
        started = perf_counter()
        try:
            if composed and self.workflow.node(plan.ids[index]).map is not None:
                # a map: each element goes through the hook itself (resumed one by one)
                output = await run_composed(self, index, task_id, inputs)
            elif self.hook is not None:
                output = await self.hook.run(
                    index, inputs, lambda: self._body(index, task_id, task, inputs)
                )
            else:
                output = await self._body(index, task_id, task, inputs)
        except asyncio.CancelledError:
            if self.stopping:
                self.cancelled.append(index)
                if observer is not None:
                    observer.task_cancelled(task_id)
                raise
            # Cancelled by someone other than this runtime: the task did not complete.
            self._fail(index, asyncio.CancelledError(f"task {task_id!r} was cancelled"))
            return False
        except Exception as exc:
            self._fail(index, exc)
            return False
        elapsed = self.durations[index] = perf_counter() - started
        if observer is not None and not composed:
            observer.task_finished(task_id, elapsed)
        self.outputs[index] = output
        self.completed[index] = True
        return not self.stopping

    def _body(self, index: int, task_id: str, task: Any, inputs: Any) -> Awaitable[Any]:
        """One node's body, to await once (on its executor, inline, or as an actor).

        Not a coroutine itself: it hands back the task's own coroutine, so the common local
        path costs no extra frame per task (issue 16)."""
        plan = self.plan
        if plan.composed[index]:  # a sub-workflow: its inner tasks report themselves
            return run_composed(self, index, task_id, inputs)
        executor = None if self.executors is None else self.executors[index]
        if executor is not None:
            return executor.run(
                TaskCall(
                    task_id=task_id,
                    workflow=self.workflow.name,
                    task=cast(Task[Any, Any], task),
                    context_class=plan.context_classes[index],
                    state=self.state,
                    deps=self.deps,
                    inputs=inputs,
                    config=self.config,
                    run_context=self.run_context,
                    results=self.results,
                )
            )
        if isinstance(task, Task):
            ctx: TaskContext[Any, Any, Any] = plan.context_classes[index](
                state=self.state,
                deps=self.deps,
                inputs=inputs,
                config=self.config,
                run_context=self.run_context,
                task_id=task_id,
                workflow=self.workflow.name,
                results=self.results,
            )
            return task.execute(ctx)
        return self._run_actor(index, task, inputs)

    async def _run_actor(self, index: int, actor: Actor[Any, Any], inputs: Any) -> Any:
        """Drive ``actor.run`` to its end; the output is its last yield (None if none)."""
        task_id = self.prefix + self.plan.ids[index]
        inbox = self.inboxes.get(index)
        outboxes = tuple(self.inboxes[j] for j in self.plan.channel_downstream[index])
        context_class = cast(
            type[ActorContext[Any, Any, Any, Any, Any]], self.plan.context_classes[index]
        )
        ctx = context_class(
            state=self.state,
            deps=self.deps,
            inputs=inputs,
            config=self.config,
            run_context=self.run_context,
            task_id=task_id,
            workflow=self.workflow.name,
            results=self.results,
            inbox=inbox,
            outboxes=outboxes,
            record=self._message_recorder(task_id, actor),
        )
        count = 0
        last: Any = None
        try:
            async for item in actor.run(ctx):
                count += 1
                last = item
        except ChannelClosed:
            pass  # the `while True: await ctx.receive()` loop ended: normal completion
        finally:
            self.yields[task_id] = count
            self.sent[task_id] = ctx.sent
            for outbox in outboxes:
                outbox.close_producer()
            if inbox is not None:
                inbox.abandon()
        if count == 0 and type(actor).always_yields:
            raise ActorYieldError(
                f"workflow {self.workflow.name!r}, actor {task_id!r} "
                f"({type(actor).__qualname__}) declares always_yields = True but finished "
                "without yielding; yield a value, or remove always_yields (the tasks after it "
                "then receive None when it yields nothing)"
            )
        return last

    def _message_recorder(
        self, task_id: str, actor: Actor[Any, Any]
    ) -> Callable[[Any], None] | None:
        """Under a run, an appender of each sent message (one JSON line) to a log asset."""
        name = actor.record_messages
        if name is None or self.run_context is None:
            return None
        # Imported here: an in-memory run never loads the workspace layer (import time).
        from molexp.workspace.encoding import dumps, to_json_value

        log = self.run_context.bind_task(task_id, workflow=self.workflow.name).log(name)
        what = f"actor {task_id!r} message recorded to log {name!r}"

        def record(message: Any) -> None:
            log.append(dumps(to_json_value(message, what=what)))

        return record

    def _fail(self, index: int, exc: BaseException) -> None:
        first = self.failure is None
        self._record_failure(index, exc)
        if self.observer is not None and first:
            try:
                self.observer.task_failed(self.prefix + self.plan.ids[index], exc)
            except Exception:  # the failure is already recorded; the observer's own error
                logger.exception("ExecutionObserver.task_failed raised")  # must not hide it

    def _record_failure(self, index: int, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = TaskFailure(
                task_id=self.prefix + self.plan.ids[index],
                exception=exc,
                traceback="".join(traceback.format_exception(exc)),
            )
            self.stopping = True
            assert self.done is not None
            if not self.done.done():
                self.done.set_result(None)

    async def _stop(self) -> None:
        """Cancel every live worker and wait until they have unwound."""
        self.stopping = True
        current = asyncio.current_task()
        workers = [w for w in self.workers if w is not current]
        for worker in workers:
            worker.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    def _result(self) -> WorkflowResult[Any]:
        plan = self.plan
        completed = self.completed
        ids = plan.ids
        outputs = {ids[i]: self.outputs[i] for i in range(len(ids)) if completed[i]}
        durations = {ids[i]: self.durations[i] for i in range(len(ids)) if completed[i]}
        cancelled = {i for i in self.cancelled}
        failed = self.failure.task_id if self.failure else None
        not_started = tuple(
            ids[i]
            for i in range(len(ids))
            if not completed[i] and i not in cancelled and self.prefix + ids[i] != failed
        )
        return WorkflowResult(
            workflow=self.workflow.name,
            status="failed" if self.failure else "succeeded",
            outputs=outputs,
            durations=durations,
            results=self.results,
            state=self.state,
            failure=self.failure,
            cancelled=tuple(ids[i] for i in sorted(cancelled)),
            not_started=not_started,
            yields=self.yields,
            sent=self.sent,
            **({} if self.hook is None else self.hook.summary()),
        )
