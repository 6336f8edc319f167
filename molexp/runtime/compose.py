"""Running composed nodes: a map's elements and a sub-workflow's inner tasks.

The scheduler (``molexp.runtime.runtime``) hands a node here when it is a map node
(``wf.map``) or a ``SubWorkflow``; everything else about the node (its inputs, its output,
failure and cancellation of the node) stays the scheduler's.

- A map runs its task once per element, at most ``max_concurrency`` at a time (the map's,
  else the execution's), each through the node's executor, attributed as ``node[i]``
  (context ``task_id``, assets, logs, progress events). The output is the list of the
  elements' outputs in input order. The first element that fails cancels the running
  ones and fails the node with a ``MapElementError`` naming the element.
- A sub-workflow runs its inner workflow as a nested execution on the outer state, deps,
  config, run and observer, its ids qualified ``node.inner`` (``node[i].inner`` inside a
  map). A failing inner task fails the node with a ``SubWorkflowError`` naming it.

Cancelling the node cancels the elements and inner tasks, which unwind before it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast

from molexp.runtime.executor import Executor, TaskCall
from molexp.workflow.compose import SubWorkflow, element_id, inner_id
from molexp.workflow.fingerprint import check_fresh
from molexp.workflow.task import Task

if TYPE_CHECKING:
    from molexp.runtime.runtime import _Execution

__all__ = [
    "MapElementError",
    "SubWorkflowError",
    "inner_executors",
    "is_composed",
    "run_composed",
]


class MapElementError(RuntimeError):
    """An element of a map failed; ``index`` and ``task_id`` (``relax[3]``) name it and
    ``__cause__`` is what it raised."""

    def __init__(self, message: str, *, index: int, task_id: str) -> None:
        super().__init__(message)
        self.index = index
        self.task_id = task_id


class SubWorkflowError(RuntimeError):
    """A task of a sub-workflow failed; ``task_id`` is its qualified id
    (``relax.minimize``) and ``__cause__`` is what it raised."""

    def __init__(self, message: str, *, task_id: str) -> None:
        super().__init__(message)
        self.task_id = task_id


def _inner_table(
    inner: Any,
    node_executor: Executor | None,
    placement: tuple[Executor | None, Mapping[str, Executor] | None],
) -> list[Executor | None] | None:
    """Per inner node: its executor. The sub-workflow node's own executor (its label, or
    the execution's default) is the inner default; inner labels bind like outer ones."""
    from molexp.runtime.plan import plan_for
    from molexp.runtime.runtime import _executor_table

    default, executors = placement
    return _executor_table(inner, plan_for(inner), node_executor or default, executors)


def inner_executors(
    workflow: Any,
    table: list[Executor | None] | None,
    default: Executor | None,
    executors: Mapping[str, Executor] | None,
) -> list[Executor | None]:
    """The executors the sub-workflows of ``workflow`` (at any depth) will call, so the
    runtime prepares them before any task runs; an unbound inner label fails here."""
    found: list[Executor | None] = []
    for node in workflow.nodes:
        task = node.task
        if not isinstance(task, SubWorkflow):
            continue
        own = None if table is None else table[node.index]
        inner_table = _inner_table(task.inner, own, (default, executors))
        found += inner_table or []
        found += inner_executors(task.inner, inner_table, own or default, executors)
    return found


def is_composed(node: Any) -> bool:
    """Whether the scheduler must hand ``node`` to ``run_composed``."""
    return node.map is not None or isinstance(node.task, SubWorkflow)


async def run_composed(execution: _Execution, index: int, task_id: str, inputs: Any) -> Any:
    """Run node ``index`` (a map or a sub-workflow, attributed as ``task_id``)."""
    node = execution.workflow.nodes[index]
    executor = None if execution.executors is None else execution.executors[index]
    if node.map is None:
        return await _run_sub_workflow(execution, node.task, task_id, inputs, executor)
    return await _run_map(execution, index, task_id, inputs, executor)


def _innermost(task_id: str, exc: BaseException) -> tuple[str, BaseException]:
    """The task that really failed under nested maps and sub-workflows, and its error."""
    while isinstance(exc, (MapElementError, SubWorkflowError)) and exc.__cause__ is not None:
        task_id, exc = exc.task_id, exc.__cause__
    return task_id, exc


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _run_map(
    execution: _Execution, index: int, task_id: str, items: Any, executor: Executor | None
) -> list[Any]:
    node = execution.workflow.nodes[index]
    task = node.task
    (over,) = node.input_upstream.values()
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes, bytearray)):
        raise TypeError(
            f"workflow {execution.workflow.name!r}, map {task_id!r}: {over.id!r} returned "
            f"{type(items).__name__}, not a sequence to map over (return a list or tuple)"
        )
    count = len(items)
    outputs: list[Any] = [None] * count
    if count == 0:
        return outputs
    assert node.map is not None
    limit = node.map.max_concurrency or (execution.limit if execution.bounded else count)
    context_class = execution.plan.context_classes[index]
    observer = execution.observer
    sub = task if isinstance(task, SubWorkflow) else None
    body = cast(Task[Any, Any], task)

    hook = execution.hook

    async def element(i: int) -> None:
        element_task = element_id(task_id, i)
        try:
            if hook is None:
                outputs[i] = await run_element(i, element_task)
            else:  # resumed one by one; retries and timeouts apply per element
                outputs[i] = await hook.run_element(
                    index, i, element_task, lambda: run_element(i, element_task)
                )
        except asyncio.CancelledError:
            if observer is not None and sub is None:
                observer.task_cancelled(element_task)
            raise
        except Exception as exc:
            failed, cause = _innermost(element_task, exc)
            raise MapElementError(
                f"workflow {execution.workflow.name!r}, map {task_id!r}: element {i} failed "
                f"(task {failed!r}): {_describe(cause)}",
                index=i,
                task_id=element_task,
            ) from exc

    async def run_element(i: int, element_task: str) -> Any:
        """Element ``i`` once: its sub-workflow, or its task on the node's executor."""
        if sub is not None:
            return await _run_sub_workflow(execution, sub, element_task, items[i], executor)
        if observer is not None:
            observer.task_started(element_task)
        started = perf_counter()
        output: Any
        if executor is None:
            ctx = context_class(
                state=execution.state,
                deps=execution.deps,
                inputs=items[i],
                config=execution.config,
                run_context=execution.run_context,
                task_id=element_task,
                workflow=execution.workflow.name,
                results=execution.results,
            )
            output = await body.execute(ctx)
        else:
            output = await executor.run(
                TaskCall(
                    task_id=element_task,
                    workflow=execution.workflow.name,
                    task=body,
                    context_class=context_class,
                    state=execution.state,
                    deps=execution.deps,
                    inputs=items[i],
                    config=execution.config,
                    run_context=execution.run_context,
                    results=execution.results,
                )
            )
        if observer is not None:
            observer.task_finished(element_task, perf_counter() - started)
        return output

    if limit >= count and sub is None and executor is None and observer is None and hook is None:
        return await _all_at_once(execution, task_id, body, context_class, items)
    if limit >= count:
        lanes = [asyncio.ensure_future(element(i)) for i in range(count)]
    else:
        position = 0

        async def lane() -> None:
            nonlocal position
            while position < count:
                i = position
                position += 1
                await element(i)

        lanes = [asyncio.ensure_future(lane()) for _ in range(limit)]
    try:
        await asyncio.gather(*lanes)
    except BaseException:
        # The first failure (or a cancellation of the node) stops every element still
        # running; they unwind before the node reports how it ended.
        for lane_task in lanes:
            lane_task.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        raise
    return outputs


async def _all_at_once(
    execution: _Execution,
    task_id: str,
    body: Task[Any, Any],
    context_class: Any,
    items: Sequence[Any],
) -> list[Any]:
    """The fast path of a local map with no bound and no observer: one asyncio task per
    element running the body itself (no wrapper coroutine), gathered in input order."""
    state, deps, config = execution.state, execution.deps, execution.config
    run_context, workflow, results = (
        execution.run_context,
        execution.workflow.name,
        execution.results,
    )
    execute = body.execute
    tasks = [
        asyncio.ensure_future(
            execute(
                context_class(
                    state=state,
                    deps=deps,
                    inputs=item,
                    config=config,
                    run_context=run_context,
                    task_id=f"{task_id}[{i}]",
                    workflow=workflow,
                    results=results,
                )
            )
        )
        for i, item in enumerate(items)
    ]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not isinstance(exc, Exception):
            raise
        index = next(
            i
            for i, task in enumerate(tasks)
            if task.done() and not task.cancelled() and task.exception() is exc
        )
        failed = element_id(task_id, index)
        raise MapElementError(
            f"workflow {workflow!r}, map {task_id!r}: element {index} failed "
            f"(task {failed!r}): {_describe(exc)}",
            index=index,
            task_id=failed,
        ) from exc


async def _run_sub_workflow(
    execution: _Execution,
    sub: Any,
    task_id: str,
    inputs: Any,
    executor: Executor | None,
) -> Any:
    from molexp.runtime.plan import plan_for
    from molexp.runtime.runtime import _Execution

    assert isinstance(sub, SubWorkflow)
    inner = sub.inner
    check_fresh(inner)
    plan = plan_for(inner)
    table = _inner_table(inner, executor, execution.placement)
    nested = _Execution(
        inner,
        plan,
        state=execution.state,
        deps=execution.deps,
        inputs=inputs,
        config=execution.config,
        observer=execution.observer,
        run_context=execution.run_context,
        limit=execution.limit if execution.bounded else None,
        channel_capacity=execution.channel_capacity,
        executors=table,
    )
    nested.prefix = inner_id(task_id, "")
    nested.placement = execution.placement
    nested.results = execution.results
    result = await nested.run()
    failure = result.failure
    if failure is not None:
        failed, cause = _innermost(failure.task_id, failure.exception)
        raise SubWorkflowError(
            f"workflow {execution.workflow.name!r}, sub-workflow {task_id!r} (workflow "
            f"{inner.name!r}): task {failed!r} failed: {_describe(cause)}",
            task_id=failed,
        ) from failure.exception
    return result.outputs[sub.output.id]
