"""What a task's tries record: ``TaskTry`` per try, ``TaskTimeout`` when one ran too long.

Kept apart from ``persistence`` (which needs the caching and workspace layers) so that an
in-memory run, and ``import molexp``, load neither (issue 16).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["TaskTimeout", "TaskTry"]


class TaskTimeout(TimeoutError):
    """A task's try ran longer than its ``timeout``: the body was cancelled."""

    def __init__(self, task_id: str, limit: float, attempt: int, tries: int) -> None:
        of = f" (try {attempt} of {tries})" if tries > 1 else ""
        super().__init__(f"task {task_id!r} exceeded its timeout of {limit:g} s{of}")
        self.task_id = task_id
        self.limit = limit


class TaskTry(NamedTuple):
    """One try of a task: ``succeeded``, ``failed`` or ``timeout``, its error, its duration."""

    task_id: str
    attempt: int
    status: str
    duration: float
    error: str | None = None
