"""Executors: where task bodies run. ``LocalExecutor`` (this process, the default) and
``DaskExecutor`` (a Dask distributed cluster; ``pip install molexp[dask]``).

Importing this package does not import Dask: ``DaskExecutor`` is loaded on first access
(``from molexp.executors import DaskExecutor``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from molexp.executors.errors import (
    NoWorkerAvailable,
    RemoteTaskError,
    StateMutationError,
    StateMutationWarning,
    TaskNotPicklable,
    WorkerLost,
)
from molexp.runtime.executor import Executor, LocalExecutor, TaskCall

if TYPE_CHECKING:
    from molexp.executors.dask import DaskExecutor

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "NoWorkerAvailable",
    "RemoteTaskError",
    "StateMutationError",
    "StateMutationWarning",
    "TaskCall",
    "TaskNotPicklable",
    "WorkerLost",
]


def __getattr__(name: str) -> Any:
    if name == "DaskExecutor":
        try:
            from molexp.executors.dask import DaskExecutor
        except ImportError as exc:
            raise ImportError(
                f"DaskExecutor needs Dask distributed ({exc}); install it with "
                "pip install 'molexp[dask]'"
            ) from exc
        return DaskExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
