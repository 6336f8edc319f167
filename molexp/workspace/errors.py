"""Errors of the workspace layer. Each names the offending run, asset, file or value."""

from __future__ import annotations

__all__ = [
    "AssetNameError",
    "CorruptRunError",
    "RunNotFoundError",
    "RunStateError",
    "WorkspaceError",
]


class WorkspaceError(Exception):
    """Base class of every error raised by the workspace layer."""


class AssetNameError(WorkspaceError, ValueError):
    """An asset, log or checkpoint name that could escape its folder or is not portable."""


class RunNotFoundError(WorkspaceError, LookupError):
    """No run with that id exists where it was looked up."""


class CorruptRunError(WorkspaceError):
    """A run's ``run.json`` cannot be read; the message names the file and the reason."""


class RunStateError(WorkspaceError):
    """The run is in a status that does not allow the operation (e.g. already running)."""
