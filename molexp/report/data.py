"""What a report shows, gathered from the workspace: plain data, no plotting, no HTML.

Everything here reads the public run API (``Run.params``, ``results``, ``info()``,
``assets()``); the tables and the replica aggregation are the ones ``molexp runs compare``
uses (``molexp.run_table``), so the report and the terminal agree.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from molexp.run_table import REPLICA_KEYS, RunRow, cell_summary, differing, flatten, row_of

__all__ = [
    "MAX_LOG_RUNS",
    "MAX_SERIES_POINTS",
    "ArtifactLink",
    "GraphEdge",
    "GraphNode",
    "GraphSpec",
    "LogLine",
    "LogSeries",
    "ReportData",
    "SweepPlot",
    "SweepPoint",
    "SweepSeries",
    "TaskTiming",
    "collect",
    "graph_from_record",
    "graph_from_workflow",
    "log_lines",
    "parse_log_line",
    "row_of",
    "task_timings",
]

MAX_LOG_RUNS = 12
"""Log series are drawn for at most this many runs (the first ones with numeric logs)."""
MAX_SERIES_POINTS = 2000
"""A longer log series is thinned to this many evenly spaced points (first and last kept)."""
MAX_SWEEP_GROUPS = 10
"""At most this many lines per sweep plot (one per combination of the other params)."""


# -- the workflow graph -----------------------------------------------------------------------


@attrs.frozen
class GraphNode:
    id: str
    label: str
    """The task class (``Relax``)."""
    status: str | None = None
    """From the run's per-task record, when there is one."""


@attrs.frozen
class GraphEdge:
    source: str
    target: str
    label: str = ""
    """The fan-in key, when the target takes a keyed mapping."""
    stream: bool = False
    """A channel between actors (drawn dashed), not a completion edge."""


@attrs.frozen
class GraphSpec:
    name: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": [{"id": n.id, "task": n.label, "status": n.status} for n in self.nodes],
            "edges": [
                {"source": e.source, "target": e.target, "label": e.label, "stream": e.stream}
                for e in self.edges
            ],
        }


def graph_from_workflow(workflow: Any) -> GraphSpec:
    """The graph of a ``Workflow`` (nodes in the order they were added), as a tracked run
    records it (``molexp.runtime.provenance.graph_record``)."""
    from molexp.runtime.provenance import graph_record

    spec = graph_from_record(graph_record(workflow))
    assert spec is not None
    return spec


def _recorded_graph(info: Mapping[str, Any]) -> object:
    """The graph a run recorded: ``execution.graph`` (written by every tracked execution),
    else a top-level ``graph``."""
    execution = info.get("execution")
    if isinstance(execution, Mapping) and execution.get("graph") is not None:
        return execution.get("graph")
    return info.get("graph")


def graph_from_record(record: object) -> GraphSpec | None:
    """A graph recorded in ``run.json`` under ``graph``:
    ``{"name", "nodes": [{"id", "task"}], "edges": [{"source", "target", "label"?, "stream"?}]}``;
    None when absent or not of that shape."""
    if not isinstance(record, Mapping):
        return None
    nodes, edges = record.get("nodes"), record.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return None
    try:
        return GraphSpec(
            str(record.get("name", "")),
            tuple(GraphNode(str(n["id"]), str(n.get("task", ""))) for n in nodes),
            tuple(
                GraphEdge(
                    str(e["source"]),
                    str(e["target"]),
                    str(e.get("label", "")),
                    bool(e.get("stream", False)),
                )
                for e in edges
            ),
        )
    except (KeyError, TypeError, AttributeError):
        return None


# -- per-task timings -------------------------------------------------------------------------


@attrs.frozen
class TaskTiming:
    task: str
    seconds: float | None
    status: str | None
    attempt: int | None
    runs: int = 1
    """How many runs the figure is the mean of (an experiment's report)."""


_SECONDS_KEYS = ("duration_s", "seconds", "duration")


def task_timings(info: Mapping[str, Any]) -> list[TaskTiming]:
    """The per-task records of one ``run.json``: ``execution.tasks`` (what ``molexp run``
    records: ``{task_id: {"status", "duration", "attempt"}}``), else a top-level ``tasks``
    of that shape or a list of such records with ``id``/``task_id``/``task``. The time may
    be ``duration``, ``duration_s`` or ``seconds``; ``attempt`` the run attempt that ran
    the task, or ``attempts`` a count (or a list) of tries. Empty when none was recorded."""
    execution = info.get("execution")
    raw = execution.get("tasks") if isinstance(execution, Mapping) else None
    if raw is None:
        raw = info.get("tasks")
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(raw, Mapping):
        entries = [(str(k), v) for k, v in raw.items() if isinstance(v, Mapping)]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping):
                name = item.get("id", item.get("task_id", item.get("task")))
                if name is not None:
                    entries.append((str(name), item))
    timings = []
    for task, record in entries:
        seconds = next(
            (
                float(record[k])
                for k in _SECONDS_KEYS
                if _number(record.get(k)) and math.isfinite(float(record[k]))
            ),
            None,
        )
        attempts = record.get("attempt", record.get("attempts"))
        if isinstance(attempts, list):
            attempts = len(attempts)
        timings.append(
            TaskTiming(
                task,
                seconds,
                str(record["status"]) if "status" in record else None,
                attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else None,
            )
        )
    return timings


def _mean_timings(per_run: Sequence[Sequence[TaskTiming]]) -> list[TaskTiming]:
    """Per task: the mean time over the runs that timed it; the status when all agree."""
    order: dict[str, list[TaskTiming]] = {}
    for timings in per_run:
        for timing in timings:
            order.setdefault(timing.task, []).append(timing)
    merged = []
    for task, seen in order.items():
        times = [t.seconds for t in seen if t.seconds is not None]
        statuses = {t.status for t in seen}
        merged.append(
            TaskTiming(
                task,
                sum(times) / len(times) if times else None,
                statuses.pop() if len(statuses) == 1 else "mixed",
                None,
                len(seen),
            )
        )
    return merged


# -- plots of results against swept params ---------------------------------------------------


@attrs.frozen
class SweepPoint:
    x: float
    mean: float
    stderr: float | None
    n: int
    runs: tuple[str, ...]


@attrs.frozen
class SweepSeries:
    label: str
    """The other swept params of this line (``pressure=1``), empty when there are none."""
    points: tuple[SweepPoint, ...]


@attrs.frozen
class SweepPlot:
    id: str
    result: str
    param: str
    series: tuple[SweepSeries, ...]
    lines_total: int
    """Lines before ``MAX_SWEEP_GROUPS`` kept the first ones."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "sweep",
            "lines_total": self.lines_total,
            "result": self.result,
            "param": self.param,
            "series": [
                {
                    "label": s.label,
                    "points": [
                        {
                            "x": p.x,
                            "mean": p.mean,
                            "stderr": p.stderr,
                            "n": p.n,
                            "runs": list(p.runs),
                        }
                        for p in s.points
                    ],
                }
                for s in self.series
            ],
        }


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_replica_key(key: str) -> bool:
    return key.split(".")[-1] in REPLICA_KEYS


def sweep_plots(rows: Sequence[RunRow]) -> list[SweepPlot]:
    """One plot per (numeric result, numeric swept param): the mean over each cell's replicas
    with its standard error (``cell_summary``), one line per combination of the other swept
    params. Only succeeded runs count."""
    done = [row for row in rows if row.status == "succeeded"]
    if len(done) < 2:
        return []
    swept = [k for k in differing(row.params for row in done) if not _is_replica_key(k)]
    results = sorted(
        {k for row in done for k, v in row.results.items() if _number(v)},
    )
    cells = cell_summary(done, results)
    plots: list[SweepPlot] = []
    for param in swept:
        if not all(_number(cell["params"].get(param)) for cell in cells):
            continue  # a text param (or one some runs lack) is not an axis
        others = [k for k in swept if k != param]
        for result in results:
            groups: dict[str, list[SweepPoint]] = {}
            for cell in cells:
                stats = cell["results"].get(result)
                if stats is None:
                    continue
                label = ", ".join(f"{k}={cell['params'][k]}" for k in others if k in cell["params"])
                groups.setdefault(label, []).append(
                    SweepPoint(
                        float(cell["params"][param]),
                        stats["mean"],
                        stats["stderr"],
                        stats["n"],
                        tuple(cell["runs"]),
                    )
                )
            if not groups or max(len(points) for points in groups.values()) < 2:
                continue  # a single x value is no plot
            series = tuple(
                SweepSeries(label, tuple(sorted(points, key=lambda p: p.x)))
                for label, points in sorted(groups.items())[:MAX_SWEEP_GROUPS]
            )
            plots.append(SweepPlot(f"sweep-{len(plots)}", result, param, series, len(groups)))
    return plots


# -- numeric log series -----------------------------------------------------------------------

_PAIR = re.compile(
    r"([A-Za-z_][\w./\-]*)(?:\s*[=:]\s*|\s+)"  # a name, then `=`, `:` or a space
    r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?=[\s,;]|$)"  # a number ending there
)


def parse_log_line(line: str) -> dict[str, float]:
    """The numbers of one log line: ``-4.2`` -> ``{"": -4.2}``; ``step=3 energy=-4.2``,
    ``step: 3, energy: -4.2`` or ``sweep 10 energy/N -4.2`` -> ``{"step": 3.0, ...}`` (a
    name, then ``=``, ``:`` or a space, then a number); a JSON object -> its numeric values.
    Anything else -> ``{}``."""
    text = line.strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if _number(value):
        return {"": float(value)} if math.isfinite(float(value)) else {}
    if isinstance(value, dict):
        return {
            str(k): float(v) for k, v in flatten(value).items() if _number(v) and math.isfinite(v)
        }
    found = {key: float(number) for key, number in _PAIR.findall(text)}
    return {k: v for k, v in found.items() if math.isfinite(v)}


@attrs.frozen
class LogLine:
    """One run's values of one key of one log."""

    run_id: str
    points: tuple[tuple[float, float], ...]
    total: int
    """Points before thinning."""


@attrs.frozen
class LogSeries:
    """One plot: a key of a log (``energy`` of ``md.log``), one line per run that has it."""

    id: str
    log: str
    key: str
    """The value's name in the line (empty for bare numbers)."""
    x_key: str
    """``step``-like key used as x (empty: the line number)."""
    lines: tuple[LogLine, ...]

    @property
    def title(self) -> str:
        return f"{self.log}: {self.key}" if self.key else self.log

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "log",
            "log": self.log,
            "key": self.key,
            "x": self.x_key or "line",
            "lines": [
                {"run": line.run_id, "points": [list(p) for p in line.points], "total": line.total}
                for line in self.lines
            ],
        }


_X_KEYS = ("step", "sweep", "iteration", "iter", "epoch", "frame", "time", "t")


def _increasing(key: str, parsed: Sequence[Mapping[str, float]]) -> bool:
    """``key`` is on every line and grows strictly: a step counter, not a step size."""
    values = [p[key] for p in parsed if key in p]
    return len(values) == len(parsed) and all(a < b for a, b in itertools.pairwise(values))


def log_lines(lines: Iterable[str]) -> tuple[str, dict[str, list[tuple[float, float]]]]:
    """The numeric series of one log file: (x key, {key: points}) for every key that appears
    on at least two lines; x is a ``step``-like key present on every line and strictly
    increasing (a counter: ``step``, ``sweep``, ``iteration``, ...), else the line number."""
    parsed = [parse_log_line(line) for line in lines]
    parsed = [p for p in parsed if p]
    keys: dict[str, None] = {}
    for values in parsed:
        keys.update(dict.fromkeys(values))
    x_key = next((k for k in _X_KEYS if k in keys and _increasing(k, parsed)), "")
    series = {}
    for key in keys:
        if x_key and key == x_key:
            continue
        points = [
            (p[x_key] if x_key else float(i), p[key]) for i, p in enumerate(parsed) if key in p
        ]
        if len(points) >= 2:
            series[key] = points
    return x_key, series


def _thin(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """At most ``MAX_SERIES_POINTS``, evenly spaced, first and last kept."""
    total = len(points)
    if total > MAX_SERIES_POINTS:
        step = (total - 1) / (MAX_SERIES_POINTS - 1)
        points = [points[round(i * step)] for i in range(MAX_SERIES_POINTS)]
    return tuple(points)


def _log_plots(
    per_run: Sequence[tuple[str, str, str, dict[str, list[tuple[float, float]]]]],
) -> list[LogSeries]:
    """(run, log, x key, series) of each log read -> one plot per (log, key, x key)."""
    grouped: dict[tuple[str, str, str], list[LogLine]] = {}
    for run_id, log, x_key, series in per_run:
        for key, points in series.items():
            grouped.setdefault((log, key, x_key), []).append(
                LogLine(run_id, _thin(points), len(points))
            )
    return [
        LogSeries(f"log-{i}", log, key, x_key, tuple(lines))
        for i, ((log, key, x_key), lines) in enumerate(grouped.items())
    ]


# -- artifacts --------------------------------------------------------------------------------


@attrs.frozen
class ArtifactLink:
    run_id: str
    kind: str
    name: str
    version: int
    size: int
    task: str | None
    href: str
    """Relative to the report's folder (a path on this machine; nothing is fetched)."""


def _href(target: Path, report_folder: Path) -> str:
    relative = os.path.relpath(target, report_folder)
    return Path(relative).as_posix()


# -- everything -------------------------------------------------------------------------------


@attrs.frozen
class ReportData:
    title: str
    rows: tuple[RunRow, ...]
    params: tuple[str, ...]
    """The params shown: those that differ (all when one run)."""
    constants: dict[str, Any]
    """Params with one value in every run (not columns of the table)."""
    config: dict[str, Any]
    """A one-run report: the run's resolved profile config, flattened (else empty)."""
    results: tuple[str, ...]
    cells: tuple[dict[str, Any], ...]
    """``cell_summary``: replicas grouped, mean ± standard error per result."""
    sweeps: tuple[SweepPlot, ...]
    logs: tuple[LogSeries, ...]
    logs_from_runs: int
    """How many runs the log series come from (at most ``MAX_LOG_RUNS``)."""
    logs_truncated: bool
    """Some runs' logs were left out (``MAX_LOG_RUNS``)."""
    timings: tuple[TaskTiming, ...]
    graph: GraphSpec | None
    artifacts: tuple[ArtifactLink, ...]

    def to_json(self) -> dict[str, Any]:
        """The embedded data: what every plot and table was drawn from."""
        return {
            "title": self.title,
            "params": list(self.params),
            "constants": self.constants,
            "config": self.config,
            "results": list(self.results),
            "runs": [row.to_json(self.params, self.results) for row in self.rows],
            "cells": list(self.cells),
            "plots": [p.to_json() for p in self.sweeps] + [s.to_json() for s in self.logs],
            "tasks": [
                {
                    "task": t.task,
                    "seconds": t.seconds,
                    "status": t.status,
                    "attempt": t.attempt,
                    "runs": t.runs,
                }
                for t in self.timings
            ],
            "graph": self.graph.to_json() if self.graph else None,
            "artifacts": [attrs.asdict(a) for a in self.artifacts],
        }


def collect(
    runs: Sequence[Any],
    *,
    title: str,
    report_folder: Path,
    graph: GraphSpec | None = None,
) -> ReportData:
    """Gather a report's data from ``runs`` (``Run`` handles, in the order to show them).

    ``graph``: the workflow's graph when the caller has it (``--workflow``); otherwise the
    first run's recorded ``graph`` is used, if it recorded one.
    """
    if not runs:
        raise ValueError("a report needs at least one run")
    rows = [row_of(run) for run in runs]
    if len(rows) > 1:
        params = differing(row.params for row in rows)
    else:
        params = sorted(rows[0].params)
    constants = (
        {k: v for k, v in rows[0].params.items() if k not in params} if len(rows) > 1 else {}
    )
    results = sorted({k for row in rows for k in row.results})
    infos = [run.info() for run in runs]
    per_run = [task_timings(info) for info in infos]
    timings = per_run[0] if len(runs) == 1 else _mean_timings(per_run)
    if graph is None:
        graph = next(
            (g for g in (graph_from_record(_recorded_graph(info)) for info in infos) if g),
            None,
        )
    if graph is not None and len(runs) == 1 and timings:
        status = {t.task: t.status for t in timings}
        graph = attrs.evolve(
            graph,
            nodes=tuple(attrs.evolve(n, status=status.get(n.id)) for n in graph.nodes),
        )
    read_logs: list[tuple[str, str, str, dict[str, list[tuple[float, float]]]]] = []
    log_runs = 0
    truncated = False
    artifacts: list[ArtifactLink] = []
    for run in runs:
        assets = run.assets()
        if log_runs >= MAX_LOG_RUNS:
            truncated = truncated or any(a.kind == "log" for a in assets)
        else:
            found = False
            for asset in assets:
                if asset.kind != "log":
                    continue
                try:
                    lines = asset.read_text().splitlines()
                except (OSError, UnicodeDecodeError):
                    continue
                x_key, series = log_lines(lines)
                read_logs.append((run.id, asset.name, x_key, series))
                found = found or bool(series)
            log_runs += found
        for asset in assets:
            if asset.kind not in ("artifact", "checkpoint"):
                continue
            shown = run.path / "artifacts" / asset.name  # the user-facing latest copy
            latest = asset.kind == "artifact" and shown.is_file()
            target = shown if latest else asset.path
            artifacts.append(
                ArtifactLink(
                    run.id,
                    asset.kind,
                    asset.name,
                    asset.version,
                    asset.size,
                    asset.producer.task_id if asset.producer else None,
                    _href(target, report_folder),
                )
            )
    cells = cell_summary(rows, results)
    return ReportData(
        title=title,
        rows=tuple(rows),
        params=tuple(params),
        constants=constants,
        config=flatten(dict(runs[0].config)) if len(runs) == 1 else {},
        results=tuple(results),
        cells=tuple(cells),
        sweeps=tuple(sweep_plots(rows)),
        logs=tuple(_log_plots(read_logs)),
        logs_from_runs=log_runs,
        logs_truncated=truncated,
        timings=tuple(timings),
        graph=graph,
        artifacts=tuple(artifacts),
    )
