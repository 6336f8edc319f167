"""Executors: what runs one task body. The scheduler (``WorkflowRuntime``) decides when.

The runtime hands an executor a ``TaskCall`` (the task and everything its context is made
of) once the task's upstreams have finished, and awaits its output. ``LocalExecutor`` (the
default) runs the body on the runtime's event loop; the runtime inlines it, so the default
path costs nothing. ``molexp.executors.dask.DaskExecutor`` runs it on a Dask cluster.

Which executor runs a task: ``execute(..., executor=X)`` sets the default for every task;
a task added with ``wf.add(task, executor="label")`` runs on ``executors["label"]`` when
``execute(..., executors={...})`` is given (an unbound label is then an error naming the
task; without ``executors`` labels are ignored, so the same workflow runs in memory as is).
Actors always run locally: they stream through in-process channels.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from molexp.context import TaskContext
from molexp.profile import ProfileConfig

if TYPE_CHECKING:
    from molexp.workflow.task import Task
    from molexp.workspace.run_context import RunContext

__all__ = ["Executor", "LocalExecutor", "TaskCall"]


class TaskCall:
    """One task execution handed to an executor: the task and its context's parts.

    ``results`` is the execution's in-memory result map (``WorkflowResult.results``); an
    executor that runs the body elsewhere merges the results set there into it.
    """

    __slots__ = (
        "config",
        "context_class",
        "deps",
        "inputs",
        "results",
        "run_context",
        "state",
        "task",
        "task_id",
        "workflow",
    )

    def __init__(
        self,
        *,
        task_id: str,
        workflow: str,
        task: Task[Any, Any],
        context_class: type[TaskContext[Any, Any, Any]],
        state: Any,
        deps: Any,
        inputs: Any,
        config: ProfileConfig,
        run_context: RunContext | None,
        results: dict[str, Any],
    ) -> None:
        self.task_id = task_id
        self.workflow = workflow
        self.task = task
        self.context_class = context_class
        self.state = state
        self.deps = deps
        self.inputs = inputs
        self.config = config
        self.run_context = run_context
        self.results = results

    def context(self) -> TaskContext[Any, Any, Any]:
        """The task's context in this process (what the local path passes to ``execute``)."""
        return self.context_class(
            state=self.state,
            deps=self.deps,
            inputs=self.inputs,
            config=self.config,
            run_context=self.run_context,
            task_id=self.task_id,
            workflow=self.workflow,
            results=self.results,
        )

    def __repr__(self) -> str:
        return f"TaskCall(task_id={self.task_id!r}, workflow={self.workflow!r})"


class Executor(abc.ABC):
    """Runs one task body and returns its output (or raises what the body raised).

    ``prepare``/``release`` bracket each ``execute`` that uses the executor (connect to a
    cluster, close what was opened). ``run`` is cancelled when the execution stops (a
    sibling failed, or the caller was cancelled): an executor must then stop or abandon
    the remote work before re-raising ``CancelledError``.
    """

    async def prepare(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Called once by each ``execute`` that uses this executor, before its first task."""

    async def release(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Called once when that ``execute`` ends (whatever the outcome)."""

    @abc.abstractmethod
    async def run(self, call: TaskCall) -> Any:
        """Run ``call.task`` and return its output."""


class LocalExecutor(Executor):
    """Runs the task body in this process, on the runtime's event loop (the default)."""

    async def run(self, call: TaskCall) -> Any:
        return await call.task.execute(call.context())

    def __repr__(self) -> str:
        return "LocalExecutor()"
