"""Errors raised while declaring or introspecting a workflow."""

from __future__ import annotations

__all__ = [
    "ActorYieldError",
    "TypeResolutionError",
    "WorkflowDefinitionError",
    "WorkflowLoadError",
]


class WorkflowDefinitionError(ValueError):
    """A workflow declaration is invalid; the message names the workflow and task."""


class TypeResolutionError(TypeError):
    """A task's declared types could not be resolved; the message names the task."""


class WorkflowLoadError(Exception):
    """A workflow module could not be found or imported, or holds no such workflow."""


class ActorYieldError(RuntimeError):
    """An actor that declares ``always_yields = True`` finished without yielding."""
