"""Executors: where task bodies run. ``LocalExecutor`` (this process, the default),
``ProcessExecutor`` (worker processes of this machine; ``pip install molexp[cpu]``) and
``DaskExecutor`` (a Dask distributed cluster; ``pip install molexp[dask]``).

Importing this package imports neither Dask nor cloudpickle: ``DaskExecutor`` and
``ProcessExecutor`` are loaded on first access (``from molexp.executors import ...``).
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
    from molexp.executors.process import ProcessExecutor

__all__ = [
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "NoWorkerAvailable",
    "ProcessExecutor",
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
    if name == "ProcessExecutor":
        try:
            from molexp.executors.process import ProcessExecutor
        except ImportError as exc:
            raise ImportError(
                f"ProcessExecutor needs cloudpickle ({exc}); install it with "
                "pip install 'molexp[cpu]'"
            ) from exc
        return ProcessExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
