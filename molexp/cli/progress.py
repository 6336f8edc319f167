"""Live progress of a running workflow: one redrawn status line on a terminal, plain
lines (one per finished or failed task) otherwise, so logs and CI output stay readable."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from molexp.runtime.observer import ExecutionObserver

__all__ = ["Progress"]

_REDRAW_EVERY = 0.1  # seconds: a terminal line redrawn at most 10 times a second


class Progress(ExecutionObserver):
    def __init__(
        self, total: int | None, stream: TextIO | None = None, *, tty: bool | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.total = total
        self.done = 0
        self.failed = 0
        self.running: dict[str, float] = {}
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self.closed_stream = False

    # -- events ---------------------------------------------------------------------------

    def task_started(self, task_id: str) -> None:
        self.running[task_id] = time.perf_counter()
        self._draw()

    def task_finished(self, task_id: str, seconds: float) -> None:
        self.running.pop(task_id, None)
        self.done += 1
        if not self.tty:
            self._line(f"done    {task_id} ({seconds:.2f} s)")
        self._draw()

    def task_failed(self, task_id: str, error: BaseException) -> None:
        self.running.pop(task_id, None)
        self.failed += 1
        self._line(f"FAILED  {task_id}: {type(error).__name__}: {error}")
        self._draw(force=True)

    def task_cancelled(self, task_id: str) -> None:
        self.running.pop(task_id, None)
        if not self.tty:
            self._line(f"cancel  {task_id}")

    def close(self) -> None:
        if self.tty:
            self._draw(force=True)
            self._write("\n")

    # -- output ---------------------------------------------------------------------------

    def status(self) -> str:
        elapsed = time.perf_counter() - self.started
        running = ", ".join(sorted(self.running)[:3])
        more = f" +{len(self.running) - 3}" if len(self.running) > 3 else ""
        return (
            f"[{elapsed:6.1f}s] {self.done}{'' if self.total is None else f'/{self.total}'} "
            f"done, {len(self.running)} running, "
            f"{self.failed} failed" + (f"  ({running}{more})" if running else "")
        )

    def _write(self, text: str) -> None:
        if self.closed_stream:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError:  # the reader went away (`molexp run ... | head`): keep running
            self.closed_stream = True

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[2K" if self.tty else ""
        self._write(f"{prefix}{text}\n")

    def _draw(self, *, force: bool = False) -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if not force and now - self._last_draw < _REDRAW_EVERY:
            return
        self._last_draw = now
        self._write("\r\x1b[2K" + self.status())
