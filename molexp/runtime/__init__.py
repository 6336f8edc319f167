"""The runtime layer: schedules workflows."""

from molexp.runtime.result import TaskFailure, WorkflowFailed, WorkflowResult
from molexp.runtime.runtime import WorkflowRuntime

__all__ = ["TaskFailure", "WorkflowFailed", "WorkflowResult", "WorkflowRuntime"]
