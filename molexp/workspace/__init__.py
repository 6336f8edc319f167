"""The workspace layer: Workspace > Project > Experiment > Run, assets, manifests, catalog.

It knows nothing of workflows: the runtime hands a ``RunContext`` (from ``run.start()``) to
task contexts, which record through per-task ``TaskRunBinding`` objects.
"""

from molexp.workspace.assets import (
    ArtifactAsset,
    Asset,
    CheckpointAsset,
    DataAsset,
    LogAsset,
    Producer,
)
from molexp.workspace.catalog import Catalog, DamagedRun, ReconcileReport
from molexp.workspace.errors import (
    AssetNameError,
    CorruptRunError,
    RunNotFoundError,
    RunStateError,
    WorkspaceError,
)
from molexp.workspace.hierarchy import Experiment, Project
from molexp.workspace.run import Run, RunSession, RunStatus
from molexp.workspace.run_context import (
    ArtifactStore,
    LogHandle,
    RunContext,
    RunError,
    TaskRunBinding,
)
from molexp.workspace.scope_assets import ScopeAssets
from molexp.workspace.staging import RunTicket, StagedRecords
from molexp.workspace.workspace import Workspace

__all__ = [
    "ArtifactAsset",
    "ArtifactStore",
    "Asset",
    "AssetNameError",
    "Catalog",
    "CheckpointAsset",
    "CorruptRunError",
    "DamagedRun",
    "DataAsset",
    "Experiment",
    "LogAsset",
    "LogHandle",
    "Producer",
    "Project",
    "ReconcileReport",
    "Run",
    "RunContext",
    "RunError",
    "RunNotFoundError",
    "RunSession",
    "RunStateError",
    "RunStatus",
    "RunTicket",
    "ScopeAssets",
    "StagedRecords",
    "TaskRunBinding",
    "Workspace",
    "WorkspaceError",
]
