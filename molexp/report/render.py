"""Build the report: gather the data, draw the pictures, fill the Jinja template."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from molexp._version import __version__
from molexp.report.data import MAX_SERIES_POINTS, GraphSpec, ReportData, collect

__all__ = ["ReportResult", "render_html", "write_report"]


@attrs.frozen
class ReportResult:
    path: Path
    size: int
    """Bytes written."""
    runs: int
    plots: int


def _json_for_script(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>`` can end it."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _missing(extra_of: str, exc: ImportError) -> ImportError:
    return ImportError(
        f"molexp report needs {extra_of} ({exc}); install the extra: pip install 'molexp[report]'"
    )


def render_html(data: ReportData) -> str:
    """The whole page (one string: inline CSS and SVG, the data as embedded JSON)."""
    try:
        import jinja2
    except ImportError as exc:
        raise _missing("jinja2", exc) from exc
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise _missing("matplotlib", exc) from exc
    from molexp.report.graph import graph_svg
    from molexp.report.plots import log_svg, sweep_svg, timings_svg

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("molexp.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["duration"] = _duration
    env.filters["size"] = _size
    template = env.get_template("report.html.j2")
    return template.render(
        data=data,
        version=__version__,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        graph_svg=graph_svg(data.graph) if data.graph and data.graph.nodes else None,
        timings_svg=timings_svg(data.timings)
        if any(t.seconds is not None for t in data.timings)
        else None,
        sweep_svgs=[(plot, sweep_svg(plot)) for plot in data.sweeps],
        log_svgs=[(series, log_svg(series)) for series in data.logs],
        data_json=_json_for_script(data.to_json()),
        max_points=MAX_SERIES_POINTS,
    )


def write_report(
    runs: Sequence[Any],
    output: Path,
    *,
    title: str,
    graph: GraphSpec | None = None,
) -> ReportResult:
    """Write the report of ``runs`` to ``output`` (atomically: a temp file, then renamed)."""
    output = output.resolve()
    data = collect(runs, title=title, report_folder=output.parent, graph=graph)
    html = render_html(data)
    encoded = html.encode("utf-8")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(encoded)
    partial.replace(output)
    return ReportResult(output, len(encoded), len(data.rows), len(data.sweeps) + len(data.logs))


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes < 60 else f"{minutes / 60:.1f} h"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
