"""TaskPolicy: how the runtime treats one task's failures, time and outputs.

A task class may declare (class attributes, inherited like any other)::

    class Relax(Task[RelaxContext, Relaxed]):
        retries = 2                       # run again up to twice after a failure
        retry_on = (EngineCrashed,)       # ... only for these exceptions (default: Exception)
        retry_backoff = 5.0               # seconds before the first retry, doubled each time
        timeout = 3600.0                  # seconds per try; the body is cancelled after it
        cache = True                      # opt in to the cross-run cache
        cache_version = "2"               # bump to invalidate cached outputs by hand

and ``wf.add(task, retries=..., retry_on=..., timeout=..., retry_backoff=..., cache=...)``
overrides them for one node. ``policy_for(node)`` gives the merged, validated policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from molexp.workflow.errors import WorkflowDefinitionError

__all__ = ["POLICY_OPTIONS", "TaskPolicy", "check_policy_options", "policy_for"]

POLICY_OPTIONS = ("retries", "retry_on", "retry_backoff", "timeout", "cache", "cache_version")


class TaskPolicy(NamedTuple):
    # A NamedTuple, not attrs: graph declaration and in-memory runs stay free of attrs.
    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    retry_backoff: float = 1.0
    timeout: float | None = None
    cache: bool = False
    cache_version: str = ""

    @property
    def plain(self) -> bool:
        """Nothing to do around the body (no retries, no timeout)."""
        return self.retries == 0 and self.timeout is None


DEFAULT_POLICY = TaskPolicy()


def _problem(option: str, value: Any) -> str | None:
    if option == "retries":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be a non-negative integer"
    elif option == "retry_on":
        items = value if isinstance(value, tuple) else (value,)
        if not items or not all(
            isinstance(item, type) and issubclass(item, BaseException) for item in items
        ):
            return "must be an exception class or a non-empty tuple of them"
    elif option in ("retry_backoff", "timeout"):
        if option == "timeout" and value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
            or (option == "timeout" and value == 0)
        ):
            return "must be a positive number of seconds" + (
                " or None" if option == "timeout" else ""
            )
    elif option == "cache":
        if not isinstance(value, bool):
            return "must be True or False"
    elif option == "cache_version":
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return "must be a string (or an int)"
    return None


def check_policy_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The options given to ``wf.add`` that are set, validated (an error names ``where``)."""
    out: dict[str, Any] = {}
    for option, value in options.items():
        if value is None and option != "timeout":
            continue
        if value is None:
            continue
        problem = _problem(option, value)
        if problem is not None:
            raise WorkflowDefinitionError(f"{where}: {option}={value!r} {problem}")
        out[option] = value
    return out


def policy_for(node_id: str, task: object, overrides: Mapping[str, Any] | None) -> TaskPolicy:
    """The task class's attributes, overridden by ``wf.add``'s options for this node."""
    cls = type(task)
    values: dict[str, Any] = {}
    for option in POLICY_OPTIONS:
        if overrides is not None and option in overrides:
            values[option] = overrides[option]
            continue
        value = getattr(cls, option, None)
        if value is None or (callable(value) and not isinstance(value, type)):
            continue
        problem = _problem(option, value)
        if problem is not None:
            raise WorkflowDefinitionError(
                f"task {node_id!r} ({cls.__qualname__}): class attribute {option} = {value!r} "
                f"{problem}"
            )
        values[option] = value
    if "retry_on" in values and not isinstance(values["retry_on"], tuple):
        values["retry_on"] = (values["retry_on"],)
    if "timeout" in values and values["timeout"] is not None:
        values["timeout"] = float(values["timeout"])
    if "cache_version" in values:
        values["cache_version"] = str(values["cache_version"])
    return TaskPolicy(**values) if values else DEFAULT_POLICY
