"""The progress display: a redrawn status line on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from molexp.cli.progress import Progress


def test_terminal_mode_redraws_one_status_line() -> None:
    out = io.StringIO()
    progress = Progress(3, out, tty=True)
    progress.task_started("a")
    progress.task_finished("a", 0.5)
    progress.task_started("b")
    progress.task_failed("b", ValueError("bad"))
    progress.close()
    text = out.getvalue()
    assert "\r\x1b[2K" in text  # redrawn in place
    assert "FAILED  b: ValueError: bad\n" in text  # failures stay on screen
    assert text.rstrip().endswith("1/3 done, 0 running, 1 failed")
    assert "done    a" not in text  # no per-task lines on a terminal


def test_plain_mode_prints_one_line_per_event() -> None:
    out = io.StringIO()
    progress = Progress(2, out, tty=False)
    progress.task_started("a")
    progress.task_finished("a", 0.25)
    progress.task_cancelled("b")
    progress.close()
    assert out.getvalue() == "done    a (0.25 s)\ncancel  b\n"


def test_a_closed_stream_stops_output_without_raising() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    progress = Progress(1, Closed(), tty=False)
    progress.task_finished("a", 0.1)  # no exception
    assert progress.closed_stream
