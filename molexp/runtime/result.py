"""WorkflowResult: what one execution produced, and how it ended."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from molexp.workflow.graph import Node

if TYPE_CHECKING:
    from molexp.runtime.tries import TaskTry

__all__ = ["RunStatus", "TaskFailure", "WorkflowFailed", "WorkflowResult"]

T = TypeVar("T")
S = TypeVar("S")
RunStatus = Literal["succeeded", "failed"]


class TaskFailure:
    """The first task that failed: its id, the exception and the formatted traceback."""

    # A plain class with slots, not attrs or a dataclass: `import molexp` stays near
    # `import asyncio` (issue 16), and this is built once per failed execution.
    __slots__ = ("exception", "task_id", "traceback")

    def __init__(self, task_id: str, exception: BaseException, traceback: str) -> None:
        self.task_id = task_id
        self.exception = exception
        self.traceback = traceback

    def __repr__(self) -> str:
        return f"TaskFailure(task_id={self.task_id!r}, exception={self.exception!r})"

    def __str__(self) -> str:
        return f"task {self.task_id!r} failed: {type(self.exception).__name__}: {self.exception}"


class WorkflowFailed(RuntimeError):
    """Raised by ``WorkflowResult.raise_for_status()``; names the failed task."""

    def __init__(self, workflow: str, failure: TaskFailure) -> None:
        # The task's traceback travels as __cause__ (raise ... from); not repeated here.
        super().__init__(f"workflow {workflow!r}: {failure}")
        self.workflow = workflow
        self.failure = failure
        self.task_id = failure.task_id  # recorded as the failed task of a tracked run


class WorkflowResult(Generic[S]):
    """Outcome of ``WorkflowRuntime.execute``: status, outputs kept, timings, results.

    Generic in the workflow's state type, so ``result.state`` is typed.
    """

    # A plain class with slots (see TaskFailure): built once per execution.
    __slots__ = (
        "cached",
        "cancelled",
        "durations",
        "failure",
        "not_started",
        "notes",
        "outputs",
        "results",
        "reused",
        "sent",
        "state",
        "status",
        "tries",
        "workflow",
        "yields",
    )

    workflow: str
    status: RunStatus
    outputs: Mapping[str, Any]
    """Outputs of every task that completed, by task id (kept on failure too)."""
    durations: Mapping[str, float]
    """Wall time in seconds of every task that completed."""
    results: Mapping[str, Any]
    """The ``ctx.set_result`` map of this execution."""
    state: S
    failure: TaskFailure | None
    cancelled: tuple[str, ...]
    """Tasks that were running when the failure stopped the execution (cancelled)."""
    not_started: tuple[str, ...]
    yields: Mapping[str, int]
    """Per actor: how many products it yielded (its output is the last one)."""
    sent: Mapping[str, int]
    """Per actor: how many messages it sent downstream."""
    reused: tuple[str, ...]
    """Tasks not run because an earlier attempt of the run stored their output (resume)."""
    cached: Mapping[str, str]
    """Tasks served from the cross-run cache: the id of the run that computed each."""
    tries: Mapping[str, tuple[TaskTry, ...]]
    """Per task with a retry/timeout policy: every try (status, error, duration)."""
    notes: tuple[str, ...]
    """What the execution decided and why: tasks re-run after a change, outputs that could
    not be stored (the task is then not resumable or cacheable), uncacheable inputs."""

    def __init__(
        self,
        workflow: str,
        status: RunStatus,
        outputs: Mapping[str, Any],
        durations: Mapping[str, float],
        results: Mapping[str, Any],
        state: S,
        failure: TaskFailure | None = None,
        cancelled: tuple[str, ...] = (),
        not_started: tuple[str, ...] = (),
        yields: Mapping[str, int] | None = None,
        sent: Mapping[str, int] | None = None,
        reused: tuple[str, ...] = (),
        cached: Mapping[str, str] | None = None,
        tries: Mapping[str, tuple[TaskTry, ...]] | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.workflow = workflow
        self.status = status
        self.outputs = outputs
        self.durations = durations
        self.results = results
        self.state = state
        self.failure = failure
        self.cancelled = cancelled
        self.not_started = not_started
        self.yields = {} if yields is None else yields
        self.sent = {} if sent is None else sent
        self.reused = reused
        self.cached = {} if cached is None else cached
        self.tries = {} if tries is None else tries
        self.notes = notes

    def __repr__(self) -> str:
        failure = "" if self.failure is None else f", failure={self.failure!r}"
        return (
            f"WorkflowResult(workflow={self.workflow!r}, status={self.status!r}, "
            f"outputs={len(self.outputs)} tasks{failure})"
        )

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def output(self, node: Node[T]) -> T:
        """The output of ``node``, typed by its ``Node[T]``."""
        try:
            value: T = self.outputs[node.id]
        except KeyError:
            reason = (
                f"it was cancelled after {self.failure}"
                if node.id in self.cancelled
                else (f"the execution stopped: {self.failure}" if self.failure else "unknown task")
            )
            raise KeyError(
                f"workflow {self.workflow!r}: task {node.id!r} has no output ({reason})"
            ) from None
        return value

    def raise_for_status(self) -> WorkflowResult[S]:
        """Raise ``WorkflowFailed`` (chained to the task's exception) unless it succeeded."""
        if self.failure is not None:
            raise WorkflowFailed(self.workflow, self.failure) from self.failure.exception
        return self
