"""``molexp report``: one offline HTML page about a run or an experiment (molexp.report)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from molexp.cli.common import add_workspace_argument, error, shown_path

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an offline HTML report of a run or an experiment",
        description=(
            "Write one self-contained HTML file (nothing fetched when it is opened): the "
            "workflow graph, per-task timings, the params/results table, results plotted "
            "against the swept params (replicas as mean ± standard error), numeric log "
            "series, and links to the artifacts. Needs the 'report' extra."
        ),
    )
    add_workspace_argument(parser)
    parser.add_argument(
        "run", metavar="RUN", nargs="?", help="run id, a unique prefix of one, or 'latest'"
    )
    parser.add_argument("--experiment", help="report every run of this experiment")
    parser.add_argument("--project", help="with --experiment: its project")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the HTML file to write"
    )
    parser.add_argument(
        "--workflow",
        metavar="WORKFLOW",
        help="draw this workflow's graph (path/to/workflow.py[:name]) when the runs did not "
        "record theirs",
    )
    parser.add_argument("--title", help="the page title (default: the run or experiment)")
    parser.set_defaults(handler=report_handler)


def report_handler(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.experiment is None):
        return error("report needs a RUN or --experiment E (one of the two)")
    output = Path(args.output)
    if output.is_dir():
        return error(f"--output {args.output} is a folder; give a file name (report.html)")
    try:
        from molexp.report import write_report
    except ImportError as exc:  # pragma: no cover - the extra is in dev
        return error(str(exc))
    from molexp.cli.workspace_commands import _quiet_damaged_warnings, _resolve, _workspace
    from molexp.workspace import WorkspaceError

    _quiet_damaged_warnings()
    graph = None
    if args.workflow is not None:
        from molexp.report.data import graph_from_workflow
        from molexp.workflow.errors import TypeResolutionError, WorkflowLoadError
        from molexp.workflow.loader import load_workflow

        try:
            workflow, _ = load_workflow(args.workflow)
        except (WorkflowLoadError, TypeResolutionError) as exc:
            return error(str(exc))
        graph = graph_from_workflow(workflow)
    try:
        ws = _workspace(args)
        if args.run is not None:
            runs = [_resolve(ws, args.run)]
            title = args.title or f"run {runs[0].id}"
        else:
            runs = ws.catalog.query_runs(
                project=args.project, experiment=args.experiment, limit=None
            )
            runs.reverse()  # oldest first: the order they were made in
            if not runs:
                raise LookupError(f"no runs in experiment {args.experiment!r}")
            title = args.title or f"experiment {runs[0].project_name}/{args.experiment}"
        result = write_report(runs, output, title=title, graph=graph)
    except (LookupError, ValueError, WorkspaceError) as exc:
        return error(str(exc))
    except ImportError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"--output {args.output}: {exc.strerror or exc}")
    print(
        f"report: {shown_path(result.path)} ({result.size / 1e6:.2f} MB, {result.runs} run(s), "
        f"{result.plots} plot(s))"
    )
    return 0
