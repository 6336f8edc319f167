"""molexp: typed task graphs for molecular-simulation workflows."""

from molexp._version import __version__
from molexp.channel import ChannelClosed
from molexp.context import ActorContext, TaskContext
from molexp.profile import ConfigError, ProfileConfig
from molexp.runtime import (
    ExecutionObserver,
    TaskFailure,
    WorkflowFailed,
    WorkflowResult,
    WorkflowRuntime,
)
from molexp.workflow import (
    Actor,
    Node,
    Task,
    TypeResolutionError,
    Workflow,
    WorkflowDefinitionError,
)
from molexp.workspace import (
    ArtifactAsset,
    Asset,
    AssetNameError,
    CheckpointAsset,
    CorruptRunError,
    DataAsset,
    Experiment,
    LogAsset,
    Producer,
    Project,
    Run,
    RunContext,
    RunNotFoundError,
    RunStateError,
    RunStatus,
    TaskRunBinding,
    Workspace,
    WorkspaceError,
)

__all__ = [
    "Actor",
    "ActorContext",
    "ArtifactAsset",
    "Asset",
    "AssetNameError",
    "ChannelClosed",
    "CheckpointAsset",
    "ConfigError",
    "CorruptRunError",
    "DataAsset",
    "ExecutionObserver",
    "Experiment",
    "LogAsset",
    "Node",
    "Producer",
    "ProfileConfig",
    "Project",
    "Run",
    "RunContext",
    "RunNotFoundError",
    "RunStateError",
    "RunStatus",
    "Task",
    "TaskContext",
    "TaskFailure",
    "TaskRunBinding",
    "TypeResolutionError",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowFailed",
    "WorkflowResult",
    "WorkflowRuntime",
    "Workspace",
    "WorkspaceError",
    "__version__",
]
