"""Runs as rows: flattened params and results, filters, the columns that differ, replicas.

What ``molexp runs list``, ``molexp runs compare`` and ``molexp report`` show, built from the
public run API (``Run.params``, ``results``, ``status``, times), so it is the same for every
workspace. It sits below the CLI and the report, which both read it.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "REPLICA_KEYS",
    "Condition",
    "RunRow",
    "cell_summary",
    "differing",
    "flatten",
    "parse_where",
    "resolve_run_id",
    "row_of",
]

REPLICA_KEYS = ("seed", "replica")
"""Params that tell replicas of one cell apart (a sweep records them): not part of the cell."""

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_WHERE = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*")


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"md": {"dt": 1}}`` -> ``{"md.dt": 1}`` (lists and scalars are values)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


@attrs.frozen
class RunRow:
    """One run as the tables see it."""

    run_id: str
    experiment: str
    status: str
    profile: str | None
    started: str | None
    duration: float | None
    params: dict[str, Any]
    """Flattened (``md.dt``)."""
    results: dict[str, Any]
    """Flattened."""

    def field(self, name: str) -> Any:
        """``params.md.dt``, ``results.energy``, ``status``, ``duration``, ``profile``."""
        head, _, rest = name.partition(".")
        if head in ("params", "results") and rest:
            source = self.params if head == "params" else self.results
            if rest not in source:
                raise KeyError(name)
            return source[rest]
        if head in ("status", "duration", "profile", "run_id", "experiment") and not rest:
            return getattr(self, head)
        raise KeyError(name)

    def to_json(self, params: Sequence[str], results: Sequence[str]) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment": self.experiment,
            "status": self.status,
            "profile": self.profile,
            "started": self.started,
            "duration_s": self.duration,
            "params": {k: self.params[k] for k in params if k in self.params},
            "results": {k: self.results[k] for k in results if k in self.results},
        }


@attrs.frozen
class Condition:
    """``results.energy < -4``: a field, an operator, a TOML literal."""

    field: str
    op: str
    value: Any

    def holds(self, row: RunRow) -> bool:
        try:
            actual = row.field(self.field)
        except KeyError:
            return False  # a run without that param or result does not match
        try:
            return bool(_OPERATORS[self.op](actual, self.value))
        except TypeError:
            return False  # e.g. a string compared with a number


def row_of(run: Any) -> RunRow:
    """A run as the tables see it (the same fields ``molexp runs list`` shows)."""
    started, finished = run.started_at, run.finished_at
    return RunRow(
        run_id=run.id,
        experiment=f"{run.project_name}/{run.experiment_name}",
        status=str(run.status),
        profile=run.profile,
        started=started.strftime("%Y-%m-%d %H:%M:%S") if started else None,
        duration=(finished - started).total_seconds() if started and finished else None,
        params=flatten(run.params),
        results=flatten(run.results),
    )


def parse_where(text: str) -> Condition:
    """``"results.energy < -4"`` -> Condition; ValueError naming the expression."""
    match = _WHERE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"--where {text!r}: expected FIELD OP VALUE, e.g. 'results.energy < -4' or "
            "'params.temperature == 300' (OP one of < <= > >= == !=)"
        )
    field, op, literal = match.groups()
    head = field.partition(".")[0]
    if head not in ("params", "results", "status", "duration", "profile"):
        raise ValueError(
            f"--where {text!r}: {field!r} is not params.KEY, results.KEY, status, duration "
            "or profile"
        )
    try:
        value = tomllib.loads(f"v = {literal}")["v"]
    except tomllib.TOMLDecodeError:
        value = literal.strip("'\"")  # a bare word: a string (status == failed)
    return Condition(field, op, value)


def differing(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The keys whose value is not the same in every row (missing counts as different)."""
    rows = list(rows)
    keys = sorted({k for row in rows for k in row})
    missing = object()
    return [k for k in keys if len({_key(row.get(k, missing)) for row in rows}) > 1]


def _key(value: Any) -> str:
    return repr(value)


def cell_summary(rows: Sequence[RunRow], results: Sequence[str]) -> list[dict[str, Any]]:
    """Replicas grouped by cell (params less ``REPLICA_KEYS``): per numeric result, the mean
    and its standard error over the replicas that have it."""
    cells: dict[str, list[RunRow]] = {}
    for row in rows:
        cell = {k: v for k, v in row.params.items() if k.split(".")[-1] not in REPLICA_KEYS}
        cells.setdefault(repr(sorted(cell.items())), []).append(row)
    summary = []
    for members in cells.values():
        entry: dict[str, Any] = {
            "params": {
                k: v for k, v in members[0].params.items() if k.split(".")[-1] not in REPLICA_KEYS
            },
            "runs": [m.run_id for m in members],
            "results": {},
        }
        for key in results:
            values = [
                float(m.results[key])
                for m in members
                if isinstance(m.results.get(key), (int, float))
                and not isinstance(m.results.get(key), bool)
            ]
            if values:
                mean = statistics.fmean(values)
                stderr = (
                    statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
                )
                entry["results"][key] = {"mean": mean, "stderr": stderr, "n": len(values)}
        summary.append(entry)
    return summary


def resolve_run_id(text: str, ids_newest_first: Sequence[str]) -> str:
    """A run id from ``text``: an id, a unique prefix, or ``latest``; LookupError naming why."""
    if text == "latest":
        if not ids_newest_first:
            raise LookupError("no runs yet: 'latest' names none")
        return ids_newest_first[0]
    if text in ids_newest_first:
        return text
    matches = [i for i in ids_newest_first if i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no run {text!r} (no run id starts with it)")
    shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise LookupError(f"run {text!r} is ambiguous: {len(matches)} runs start with it ({shown})")
