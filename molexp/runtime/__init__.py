"""The runtime layer: schedules workflows."""

from molexp.runtime.executor import Executor, LocalExecutor, TaskCall
from molexp.runtime.observer import ExecutionObserver
from molexp.runtime.persistence import TaskTimeout, TaskTry
from molexp.runtime.result import TaskFailure, WorkflowFailed, WorkflowResult
from molexp.runtime.runtime import WorkflowRuntime

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
