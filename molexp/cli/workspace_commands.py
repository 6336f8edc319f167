"""``molexp runs``, ``molexp assets`` and ``molexp catalog``: what a workspace recorded."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from typing import Any

from molexp.cli.common import (
    add_workspace_argument,
    error,
    format_size,
    format_value,
    resolve_workspace,
    shown_path,
    table,
)
from molexp.run_table import (
    RunRow,
    cell_summary,
    differing,
    flatten,
    parse_where,
    resolve_run_id,
    row_of,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser("runs", help="list runs or show one run")
    add_workspace_argument(runs)
    runs_sub = runs.add_subparsers(metavar="ACTION")
    listing = runs_sub.add_parser("list", help="list runs, newest first (the default)")
    add_workspace_argument(listing, inherit=True)
    _run_filters(listing)
    listing.set_defaults(handler=runs_list)
    show = runs_sub.add_parser("show", help="show one run: params, profile, results, assets")
    add_workspace_argument(show, inherit=True)
    show.add_argument("run", metavar="RUN", help="run id, a unique prefix of one, or 'latest'")
    show.set_defaults(handler=runs_show)
    compare = runs_sub.add_parser(
        "compare",
        help="compare runs: the params that differ, results, status, duration",
        description=(
            "Compare runs side by side: params identical in every run are hidden unless "
            "--all-params; replicas of one cell (same params but 'seed'/'replica') are "
            "also summarised as mean ± standard error."
        ),
    )
    add_workspace_argument(compare, inherit=True)
    compare.add_argument(
        "runs", metavar="RUN", nargs="*", help="run ids, unique prefixes, or 'latest'"
    )
    compare.add_argument("--experiment", help="compare every run of this experiment")
    compare.add_argument("--project", help="with --experiment: its project")
    compare.add_argument("--all-params", action="store_true", help="also show identical params")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")
    compare.set_defaults(handler=runs_compare)
    _run_filters(runs)
    runs.set_defaults(handler=runs_list)

    assets = subparsers.add_parser(
        "assets",
        help="query the asset catalog",
        description="List recorded assets (newest first) with the path to open: an "
        "artifact's latest version is shown under its plain name (artifacts/NAME), older "
        "versions at their immutable copy.",
    )
    add_workspace_argument(assets)
    assets.add_argument("--kind", help="artifact, log, checkpoint, data")
    assets.add_argument(
        "--name", help="asset name, or a glob over names: 'relaxed/*', '*.json' (quote it)"
    )
    assets.add_argument(
        "--producer-task", metavar="TASK", help="only assets written by this task id"
    )
    assets.add_argument("--run", metavar="RUN", help="run id, a unique prefix, or 'latest'")
    assets.add_argument("--experiment", help="only assets of this experiment (and its runs)")
    assets.add_argument("--project", help="only assets of this project (and below)")
    assets.add_argument("--limit", type=int, default=50, help="at most this many assets (50)")
    assets.add_argument("--json", action="store_true", help="print JSON instead of a table")
    assets.set_defaults(handler=assets_query)

    catalog = subparsers.add_parser("catalog", help="maintain the workspace catalog")
    add_workspace_argument(catalog)
    catalog_sub = catalog.add_subparsers(metavar="ACTION")
    rebuild = catalog_sub.add_parser("rebuild", help="recreate the index from the manifests")
    add_workspace_argument(rebuild, inherit=True)
    rebuild.set_defaults(handler=catalog_rebuild)
    catalog.set_defaults(handler=lambda args: error("catalog needs an action: rebuild"))


def _run_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status", help="pending, running, succeeded, failed, cancelled, interrupted"
    )
    parser.add_argument("--project", help="only runs of this project")
    parser.add_argument("--experiment", help="only runs of this experiment")
    parser.add_argument("--profile", help="only runs whose latest attempt used this profile")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="EXPR",
        help="keep runs where EXPR holds, e.g. 'results.energy < -4' or "
        "'params.md.dt == 0.5' (repeat: all must hold)",
    )
    parser.add_argument("--limit", type=int, default=50, help="at most this many runs (50)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _workspace(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from molexp.workspace import Workspace

    resolve_workspace(args)  # molexp.toml's workspace = "DIR" (from here up) when not given
    root = Path(args.workspace)
    if root.exists() and not root.is_dir():
        raise LookupError(f"--workspace {args.workspace} is a file, not a workspace folder")
    if not root.is_dir():
        raise LookupError(
            f"no workspace at {args.workspace} (run a workflow with molexp run first)"
        )
    return Workspace(args.workspace)


def _quiet_damaged_warnings() -> None:
    """The command lists damaged runs itself: no second report of each on stderr."""
    logging.getLogger("molexp.workspace.damaged").setLevel(logging.ERROR)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s" if minutes < 60 else f"{minutes / 60:.1f} h"


def _columns(rows: list[RunRow], all_params: bool) -> tuple[list[str], list[str]]:
    """The params to show (those that differ, unless all) and the results (all keys)."""
    if all_params or len(rows) < 2:
        params = sorted({k for row in rows for k in row.params})
    else:
        params = differing(row.params for row in rows)
    results = sorted({k for row in rows for k in row.results})
    return params, results


def _cell(row: RunRow, source: str, key: str) -> str:
    values = row.params if source == "params" else row.results
    if key not in values:
        return "-"
    value = values[key]
    if isinstance(value, float):
        return f"{value:.6g}"  # the table is for reading; --json keeps every digit
    return format_value(value, limit=24)


def _run_table(
    rows: list[RunRow], params: list[str], results: list[str], damaged: Sequence[Any] = ()
) -> str:
    headers = ["RUN", "EXPERIMENT", "STATUS", "DURATION", *params, *results]
    body = [
        [
            row.run_id,
            row.experiment,
            row.status,
            _duration(row.duration),
            *(_cell(row, "params", k) for k in params),
            *(_cell(row, "results", k) for k in results),
        ]
        for row in rows
    ]
    for bad in damaged:  # listed, with why below the table
        where = f"{bad.key.project}/{bad.key.experiment}"
        body.append([bad.run_id, where, "damaged", "-", *["-"] * (len(params) + len(results))])
    return table(headers, body)


_KINDS = ("artifact", "log", "checkpoint", "data")

_MAX_RESULT_COLUMNS = 6
"""``runs list`` shows at most this many results (``runs compare`` shows them all)."""


def runs_list(args: argparse.Namespace) -> int:
    _quiet_damaged_warnings()
    try:
        conditions = [parse_where(text) for text in args.where]
        ws = _workspace(args)
        filtered = bool(conditions) or args.profile is not None
        runs = ws.catalog.query_runs(
            status=args.status,
            project=args.project,
            experiment=args.experiment,
            limit=None if filtered else args.limit,  # filters read every run's records
        )
        damaged = ws.catalog.damaged_runs()
        rows = [row_of(run) for run in runs]
    except (LookupError, ValueError) as exc:
        return error(str(exc))
    if args.profile is not None:
        rows = [row for row in rows if row.profile == args.profile]
    rows = [row for row in rows if all(c.holds(row) for c in conditions)]
    if args.limit is not None and args.limit >= 0:
        rows = rows[: args.limit]
    params, results = _columns(rows, all_params=False)
    if args.json:
        print(json.dumps([row.to_json(params, results) for row in rows], indent=2))
        return 0
    if not rows and not damaged:
        print("no runs match" if conditions or args.profile else "no runs")
        return 0
    shown = results[:_MAX_RESULT_COLUMNS]
    print(_run_table(rows, params, shown, damaged))
    if len(results) > len(shown):
        print(f"({len(results) - len(shown)} more results: molexp runs compare shows them all)")
    _print_damaged(damaged)
    return 0


def _resolve(ws: Any, text: str) -> Any:
    """The run named by an id, a unique prefix of one, or ``latest``."""
    from molexp.workspace import RunNotFoundError

    if text != "latest":
        try:
            return ws.run(text)  # an exact id, also of a damaged run (its error says why)
        except RunNotFoundError:
            pass
    ids = [run.id for run in ws.catalog.query_runs(limit=None)]
    return ws.run(resolve_run_id(text, ids))


def runs_compare(args: argparse.Namespace) -> int:
    _quiet_damaged_warnings()
    if bool(args.runs) == bool(args.experiment):
        return error("runs compare needs run ids or --experiment E (one of the two)")
    try:
        ws = _workspace(args)
        if args.runs:
            runs = [_resolve(ws, text) for text in args.runs]
        else:
            runs = ws.catalog.query_runs(
                project=args.project, experiment=args.experiment, limit=None
            )
            runs.reverse()  # oldest first: the order they were made in
            if not runs:
                raise LookupError(f"no runs in experiment {args.experiment!r}")
        rows = [row_of(run) for run in runs]
    except (LookupError, ValueError) as exc:
        return error(str(exc))
    params, results = _columns(rows, all_params=args.all_params)
    summary = cell_summary(rows, results)
    replicated = any(len(cell["runs"]) > 1 for cell in summary)
    if args.json:
        document: dict[str, Any] = {
            "params": params,
            "runs": [row.to_json(params, results) for row in rows],
        }
        if replicated:
            document["cells"] = summary
        print(json.dumps(document, indent=2))
        return 0
    print(_run_table(rows, params, results))
    if not args.all_params and len(rows) > 1:
        hidden = len({k for row in rows for k in row.params}) - len(params)
        if hidden:
            print(f"({hidden} params identical in every run hidden: --all-params shows them)")
    if replicated:
        print("\nby cell (replicas differ only in seed/replica): mean ± standard error")
        cell_params = differing(cell["params"] for cell in summary) if len(summary) > 1 else []
        headers = [*cell_params, "N", *results]
        body = []
        for cell in summary:
            line = [format_value(cell["params"].get(k, "-"), limit=24) for k in cell_params]
            line.append(str(len(cell["runs"])))
            for key in results:
                stats = cell["results"].get(key)
                if stats is None:
                    line.append("-")
                elif stats["stderr"] is None:
                    line.append(f"{stats['mean']:.6g}")
                else:
                    line.append(f"{stats['mean']:.6g} ± {stats['stderr']:.2g}")
            body.append(line)
        print(table(headers, body))
    return 0


def _print_damaged(damaged: list[Any]) -> None:
    """Say what is wrong with each damaged run (they were left as they are)."""
    if damaged:
        print(f"damaged runs ({len(damaged)}), left as they are; fix the file or move the folder:")
        for bad in damaged:
            print(f"  {bad.problem}")


def runs_show(args: argparse.Namespace) -> int:
    from molexp.workspace import WorkspaceError

    _quiet_damaged_warnings()
    try:
        run = _resolve(_workspace(args), args.run)
        status = run.status
    except (LookupError, ValueError, WorkspaceError) as exc:
        return error(str(exc))
    print(f"run:        {run.id}")
    print(f"experiment: {run.project_name}/{run.experiment_name}")
    print(f"status:     {status}")
    print(f"profile:    {run.profile or '-'}")
    print(f"started:    {run.started_at or '-'}")
    print(f"finished:   {run.finished_at or '-'}")
    print(f"folder:     {run.path}")
    for title, mapping in (("params", run.params), ("results", run.results)):
        if mapping:
            print(f"{title}:")
            for key, value in mapping.items():
                print(f"  {key} = {format_value(value)}")
    for line in show_config_and_tasks(run):
        print(line)
    error_ = run.error
    if error_ is not None:
        where = f"task {error_.task_id}: " if error_.task_id else ""
        print(f"error:      {where}{error_.type}: {error_.message}")
    from molexp.cli.resume_commands import print_attempts

    print_attempts(run)
    assets = run.assets()
    if assets:
        print(f"assets ({len(assets)}):")
        for asset in assets:
            print(f"  {asset.kind:<10} {asset.name} v{asset.version}  {format_size(asset.size)}")
    return 0


def show_config_and_tasks(run: Any) -> list[str]:
    """``runs show``'s resolved config (keys set by ``-s`` or by the sweep cell marked
    ``*``) and per-task status and times, from run.json's ``overrides``/``execution``."""
    info = run.info()
    config = flatten(run.config.to_json())
    lines: list[str] = []
    if config:
        given = info.get("overrides")
        marked = set(given) if isinstance(given, dict) else set()
        params = flatten(run.params)
        marked |= {k for k, v in params.items() if k in config and config[k] == v}
        note = " (* set by -s or the sweep cell)" if marked & set(config) else ""
        lines.append(f"config{note}:")
        for key, value in config.items():
            lines.append(f"  {key} = {format_value(value)}{' *' if key in marked else ''}")
    execution = info.get("execution")
    if isinstance(execution, dict):
        lines.append(
            f"recorded:   molexp {execution.get('molexp_version')}, workflow "
            f"{execution.get('workflow')!r} (graph {execution.get('graph_fingerprint')}), "
            f"git {execution.get('git_commit') or '-'}"
        )
        tasks = execution.get("tasks")
        if isinstance(tasks, dict) and tasks:
            lines.append(f"tasks (attempt {execution.get('attempt')}):")
            width = max(len(str(t)) for t in tasks)
            for task_id, entry in tasks.items():
                seconds = entry.get("duration") if isinstance(entry, dict) else None
                status = entry.get("status") if isinstance(entry, dict) else "?"
                took = f"{seconds:9.3f} s" if isinstance(seconds, (int, float)) else "        -"
                attempt = entry.get("attempt") if isinstance(entry, dict) else None
                lines.append(
                    f"  {task_id:<{width}}  {status:<11} {took}"
                    + (f"  (attempt {attempt})" if attempt is not None else "")
                )
    return lines


def assets_query(args: argparse.Namespace) -> int:
    import fnmatch

    pattern = args.name if args.name and any(c in args.name for c in "*?[") else None
    try:
        ws = _workspace(args)
        run_id = _resolve(ws, args.run).id if args.run is not None else None
        found = ws.catalog.query_assets(
            kind=args.kind,
            name=None if pattern else args.name,
            producer_task=args.producer_task,
            run=run_id,
            experiment=args.experiment,
            project=args.project,
            limit=None if pattern else args.limit,
        )
    except (LookupError, ValueError) as exc:
        return error(str(exc))
    if pattern is not None:
        found = [a for a in found if fnmatch.fnmatchcase(a.name, pattern)]
        if args.limit is not None and args.limit >= 0:
            found = found[: args.limit]
    if args.json:
        print(json.dumps([_asset_json(a) for a in found], indent=2))
        return 0
    if not found:
        print("no assets")
        return 0
    rows = [
        [
            a.kind,
            f"{a.name} v{a.version}",
            a.producer.task_id if a.producer and a.producer.task_id else "-",
            a.run_id or a.scope,
            format_size(a.size),
            shown_path(user_path(a)),
        ]
        for a in found
    ]
    print(table(["KIND", "NAME", "TASK", "RUN", "SIZE", "PATH"], rows))
    return 0


def user_path(asset: Any) -> Any:
    """The path a person opens: an artifact's plain-name view (``artifacts/NAME``) when it
    is this version, else the version's own file (older versions, logs, checkpoints)."""
    import os
    from pathlib import Path

    path = Path(asset.path)
    if path.parent.name != ".versions":
        return path
    latest = path.parent.parent / asset.name
    try:
        if os.path.samefile(latest, path):
            return latest
    except OSError:
        pass
    return path


def _asset_json(asset: Any) -> dict[str, Any]:
    producer = asset.producer
    return {
        "kind": asset.kind,
        "name": asset.name,
        "version": asset.version,
        "path": str(user_path(asset)),
        "version_path": str(asset.path),
        "size": asset.size,
        "sha256": asset.sha256,
        "media_type": asset.media_type,
        "created_at": asset.created_at.isoformat(),
        "scope": asset.scope,
        "project": asset.project,
        "experiment": asset.experiment,
        "run_id": asset.run_id,
        "task_id": producer.task_id if producer else None,
        "tags": list(asset.tags),
    }


def catalog_rebuild(args: argparse.Namespace) -> int:
    from collections import Counter

    _quiet_damaged_warnings()
    try:
        ws = _workspace(args)
        catalog = ws.catalog
        report = catalog.rebuild()
        damaged = catalog.damaged_runs()
        runs = catalog.query_runs(limit=None)
        statuses = Counter(str(run.status) for run in runs)
        experiments = {(run.project_name, run.experiment_name) for run in runs}
        kinds = {kind: catalog.count_assets(kind=kind) for kind in _KINDS}
    except LookupError as exc:
        return error(str(exc))
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    by_kind = ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
    print(f"catalog rebuilt from the files in {args.workspace}:")
    print(
        f"  runs:    {report.runs_synced} run(s) in {len(experiments)} experiment(s)"
        + (f": {by_status}" if by_status else "")
    )
    print(
        f"  assets:  {report.records_indexed} records from {report.manifests_synced} "
        f"manifest(s)" + (f": {by_kind}" if by_kind else "")
    )
    interrupted = report.runs_interrupted
    if interrupted:
        print(f"  found interrupted (their process is gone): {', '.join(interrupted)}")
    _print_damaged(damaged)
    return 0
