"""The report's pictures as inline SVG, drawn with matplotlib (no pyplot, no display).

Each figure gets its own ``svg.hashsalt`` so the ids matplotlib writes (clip paths, markers)
are unique across the many SVGs inlined in one page, and text stays text
(``svg.fonttype = none``): smaller files, selectable labels, the page's font.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from molexp.report.data import LogSeries, SweepPlot, TaskTiming

__all__ = ["log_svg", "sweep_svg", "timings_svg"]

_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


@contextmanager
def _figure(
    salt: str,
    width: float,
    height: float,
    layout: Literal["constrained"] | None = "constrained",
) -> Iterator[Any]:
    import matplotlib
    from matplotlib.figure import Figure

    settings: Any = {**_RC, "svg.hashsalt": salt}  # rc_context's keys are a Literal type
    with matplotlib.rc_context(settings):
        yield Figure(figsize=(width, height), layout=layout)


def to_svg(figure: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog, no fixed metadata date)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def sweep_svg(plot: SweepPlot) -> str:
    """``result`` against ``param``: each cell's mean with its standard error as error bars."""
    with _figure(plot.id, 5.2, 3.4) as figure:
        axes = figure.add_subplot()
        for index, series in enumerate(plot.series):
            xs = [p.x for p in series.points]
            ys = [p.mean for p in series.points]
            errors = [p.stderr or 0.0 for p in series.points]
            container = axes.errorbar(
                xs,
                ys,
                yerr=errors,
                marker="o",
                markersize=4,
                capsize=3,
                linewidth=1.2,
                label=series.label or None,
            )
            container.lines[0].set_gid(f"{plot.id}-series-{index}")
        axes.set_xlabel(plot.param)
        axes.set_ylabel(plot.result)
        if any(s.label for s in plot.series):
            axes.legend(fontsize=7, frameon=False)
        return to_svg(figure)


def log_svg(series: LogSeries) -> str:
    """One line per run (a legend when there are several)."""
    legend = len(series.lines) > 1
    with _figure(series.id, 6.6 if legend else 5.2, 3.0) as figure:
        axes = figure.add_subplot()
        for index, line in enumerate(series.lines):
            (drawn,) = axes.plot(
                [p[0] for p in line.points],
                [p[1] for p in line.points],
                linewidth=1.2,
                marker="." if len(line.points) <= 60 else None,
                label=line.run_id,
            )
            drawn.set_gid(f"{series.id}-line-{index}")
        axes.set_xlabel(series.x_key or "line")
        axes.set_ylabel(series.key or series.log)
        if legend:  # beside the plot: over it, a dozen runs would hide the lines
            axes.legend(fontsize=6, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
        return to_svg(figure)


def timings_svg(timings: Sequence[TaskTiming]) -> str:
    """Horizontal bars, one per task, in execution order (top to bottom)."""
    timed = [t for t in timings if t.seconds is not None]
    colors = {"succeeded": "#4c8c4a", "failed": "#c0392b", "cancelled": "#999999"}
    with _figure("timings", 5.8, 0.8 + 0.28 * len(timed)) as figure:
        axes = figure.add_subplot()
        names = [t.task for t in timed]
        seconds = [t.seconds or 0.0 for t in timed]
        bars = axes.barh(
            range(len(timed)),
            seconds,
            color=[colors.get(t.status or "", "#4a72b0") for t in timed],
        )
        for bar, timing in zip(bars, timed, strict=True):
            bar.set_gid(f"timing-{timing.task}")
        axes.set_yticks(range(len(timed)), names)
        axes.invert_yaxis()
        axes.set_xlabel("seconds")
        axes.grid(axis="y", visible=False)
        return to_svg(figure)
