"""Errors and warnings of remote task execution (importable without any engine installed)."""

from __future__ import annotations

__all__ = [
    "NoWorkerAvailable",
    "RemoteTaskError",
    "StateMutationError",
    "StateMutationWarning",
    "TaskNotPicklable",
    "WorkerLost",
]


class TaskNotPicklable(TypeError):
    """A remote task's object, inputs, deps, state or config cannot be pickled (or its output
    cannot be pickled back). Raised before anything is submitted; names the task and the part.
    """


class StateMutationError(RuntimeError):
    """A remote task changed ``ctx.state``; its changes were made to a snapshot and are lost."""


class StateMutationWarning(UserWarning):
    """Like ``StateMutationError``, for executors created with ``on_state_mutation="warn"``."""


class WorkerLost(RuntimeError):
    """The worker process running a task died (crash, ``os._exit``, memory limit, lost node)."""


class NoWorkerAvailable(RuntimeError):
    """No worker could run a submitted task: none for the executor's ``worker_timeout`` while
    no worker job was pending (the last worker was lost, the cluster was scaled to zero, no
    worker offers the task's resources), or the cluster's job submissions failed. The
    message names the task, the executor and what was seen.
    """


class RemoteTaskError(RuntimeError):
    """A task raised an exception that could not be brought back as itself (not picklable).

    ``remote_type`` is the qualified name of the original exception type.
    """

    def __init__(self, message: str, remote_type: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type
