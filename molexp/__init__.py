"""molexp: typed task graphs for molecular-simulation workflows."""

from molexp._version import __version__
from molexp.context import TaskContext
from molexp.profile import ConfigError, ProfileConfig
from molexp.runtime import ExecutionObserver, TaskFailure, WorkflowFailed, WorkflowResult, WorkflowRuntime
from molexp.channel import ChannelClosed
from molexp.context import ActorContext
from molexp.workflow import Actor, Node, Task, TypeResolutionError, Workflow, WorkflowDefinitionError

__all__ = [
    "Actor",
    "ActorContext",
    "ChannelClosed",
    "ConfigError",
    "ExecutionObserver",
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
