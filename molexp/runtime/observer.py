"""ExecutionObserver: hear about task starts and ends while a workflow runs."""

from __future__ import annotations

__all__ = ["ExecutionObserver"]


class ExecutionObserver:
    """Override the events you need; every method is a no-op by default.

    Called on the event loop thread, synchronously: keep them quick (a progress display
    updates counters and redraws at its own pace).
    """

    def task_started(self, task_id: str) -> None:
        """``task_id`` began executing."""

    def task_finished(self, task_id: str, seconds: float) -> None:
        """``task_id`` completed after ``seconds``."""

    def task_failed(self, task_id: str, error: BaseException) -> None:
        """``task_id`` raised ``error`` (the first failure stops the execution)."""

    def task_cancelled(self, task_id: str) -> None:
        """``task_id`` was cancelled because the execution stopped."""
