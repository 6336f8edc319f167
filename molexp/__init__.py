"""molexp: typed task graphs for molecular-simulation workflows."""

from molexp._version import __version__
from molexp.context import TaskContext
from molexp.profile import ConfigError, ProfileConfig
from molexp.runtime import TaskFailure, WorkflowFailed, WorkflowResult, WorkflowRuntime
from molexp.workflow import Node, Task, TypeResolutionError, Workflow, WorkflowDefinitionError

__all__ = [
    "ConfigError",
    "Node",
    "ProfileConfig",
    "Task",
    "TaskContext",
    "TaskFailure",
    "TypeResolutionError",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowFailed",
    "WorkflowResult",
    "WorkflowRuntime",
    "__version__",
]
