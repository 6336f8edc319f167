"""molexp: typed task graphs for molecular-simulation workflows."""

from typing import TYPE_CHECKING, Any

from molexp._version import __version__
from molexp.channel import ChannelClosed
from molexp.context import ActorContext, TaskContext
from molexp.profile import ConfigError, ProfileConfig
from molexp.runtime import (
    ExecutionObserver,
    Executor,
    LocalExecutor,
    TaskCall,
    TaskFailure,
    WorkflowFailed,
    WorkflowResult,
    WorkflowRuntime,
)
from molexp.workflow import (
    Actor,
    ActorYieldError,
    Node,
    SubWorkflow,
    Task,
    TypeResolutionError,
    Workflow,
    WorkflowDefinitionError,
)

if TYPE_CHECKING:
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

# The workspace layer (sqlite3, cattrs, the codecs) loads on first use of one of its names,
# so an in-memory workflow never pays for it (issue 16: `import molexp` near `import asyncio`).
_WORKSPACE_NAMES = frozenset(
    {
        "ArtifactAsset",
        "Asset",
        "AssetNameError",
        "CheckpointAsset",
        "CorruptRunError",
        "DataAsset",
        "Experiment",
        "LogAsset",
        "Producer",
        "Project",
        "Run",
        "RunContext",
        "RunNotFoundError",
        "RunStateError",
        "RunStatus",
        "TaskRunBinding",
        "Workspace",
        "WorkspaceError",
    }
)


def __getattr__(name: str) -> Any:
    if name in _WORKSPACE_NAMES:
        import molexp.workspace

        value = getattr(molexp.workspace, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'molexp' has no attribute {name!r}")


__all__ = [
    "Actor",
    "ActorContext",
    "ActorYieldError",
    "ArtifactAsset",
    "Asset",
    "AssetNameError",
    "ChannelClosed",
    "CheckpointAsset",
    "ConfigError",
    "CorruptRunError",
    "DataAsset",
    "ExecutionObserver",
    "Executor",
    "Experiment",
    "LocalExecutor",
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
    "SubWorkflow",
    "Task",
    "TaskCall",
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


def __dir__() -> list[str]:
    return sorted(set(globals()) | _WORKSPACE_NAMES)
