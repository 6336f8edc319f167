"""The runtime layer: schedules workflows."""

from molexp.runtime.executor import Executor, LocalExecutor, TaskCall
from molexp.runtime.observer import ExecutionObserver
from molexp.runtime.result import TaskFailure, WorkflowFailed, WorkflowResult
from molexp.runtime.runtime import WorkflowRuntime
from molexp.runtime.tries import TaskTimeout, TaskTry

__all__ = [
    "ExecutionObserver",
    "Executor",
    "LocalExecutor",
    "TaskCall",
    "TaskFailure",
    "TaskTimeout",
    "TaskTry",
    "WorkflowFailed",
    "WorkflowResult",
    "WorkflowRuntime",
]
