"""``molexp runs``, ``molexp assets`` and ``molexp catalog``: what a workspace recorded."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from molexp.cli.common import add_workspace_argument, error, format_size, format_value, table

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
    show.add_argument("run", metavar="RUN", help="run id")
    show.set_defaults(handler=runs_show)
    _run_filters(runs)
    runs.set_defaults(handler=runs_list)

    assets = subparsers.add_parser("assets", help="query the asset catalog")
    add_workspace_argument(assets)
    assets.add_argument("--kind", help="artifact, log, checkpoint, data")
    assets.add_argument("--name")
    assets.add_argument("--producer-task", metavar="TASK")
    assets.add_argument("--run", metavar="RUN")
    assets.add_argument("--experiment")
    assets.add_argument("--project")
    assets.add_argument("--limit", type=int, default=50)
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
    parser.add_argument("--project")
    parser.add_argument("--experiment")
    parser.add_argument("--limit", type=int, default=50)


def _workspace(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from molexp.workspace import Workspace

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


def runs_list(args: argparse.Namespace) -> int:
    _quiet_damaged_warnings()
    try:
        ws = _workspace(args)
        runs = ws.catalog.query_runs(
            status=args.status, project=args.project, experiment=args.experiment, limit=args.limit
        )
        damaged = ws.catalog.damaged_runs()
    except (LookupError, ValueError) as exc:
        return error(str(exc))
    if not runs and not damaged:
        print("no runs")
        return 0
    rows = []
    for run in runs:
        started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run.started_at else "-"
        rows.append(
            [
                run.id,
                f"{run.project_name}/{run.experiment_name}",
                str(run.status),
                run.profile or "-",
                started,
            ]
        )
    for bad in damaged:
        rows.append([bad.run_id, f"{bad.key.project}/{bad.key.experiment}", "damaged", "-", "-"])
    print(table(["RUN", "PROJECT/EXPERIMENT", "STATUS", "PROFILE", "STARTED"], rows))
    _print_damaged(damaged)
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
        run = _workspace(args).run(args.run)
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
    error_ = run.error
    if error_ is not None:
        where = f"task {error_.task_id}: " if error_.task_id else ""
        print(f"error:      {where}{error_.type}: {error_.message}")
    assets = run.assets()
    if assets:
        print(f"assets ({len(assets)}):")
        for asset in assets:
            print(f"  {asset.kind:<10} {asset.name} v{asset.version}  {format_size(asset.size)}")
    return 0


def assets_query(args: argparse.Namespace) -> int:
    try:
        found = _workspace(args).catalog.query_assets(
            kind=args.kind,
            name=args.name,
            producer_task=args.producer_task,
            run=args.run,
            experiment=args.experiment,
            project=args.project,
            limit=args.limit,
        )
    except (LookupError, ValueError) as exc:
        return error(str(exc))
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
            str(a.path),
        ]
        for a in found
    ]
    print(table(["KIND", "NAME", "TASK", "RUN", "SIZE", "PATH"], rows))
    return 0


def catalog_rebuild(args: argparse.Namespace) -> int:
    _quiet_damaged_warnings()
    try:
        catalog = _workspace(args).catalog
        report = catalog.rebuild()
        damaged = catalog.damaged_runs()
    except LookupError as exc:
        return error(str(exc))
    interrupted = report.runs_interrupted
    print(
        f"catalog rebuilt: {report.records_indexed} asset records from "
        f"{report.manifests_synced} manifests, {report.runs_synced} run(s)"
        + (
            f" ({len(interrupted)} found interrupted: {', '.join(interrupted)})"
            if interrupted
            else ""
        )
    )
    _print_damaged(damaged)
    return 0
