"""``molexp graph``: a workflow as a Mermaid flowchart, with the types on the edges."""

from __future__ import annotations

import argparse
from typing import Any

from molexp.cli.common import error

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="print a workflow as a Mermaid flowchart",
        description="Print WORKFLOW (path/to/workflow.py[:name]) as Mermaid, types on the edges.",
    )
    parser.add_argument(
        "workflow", metavar="WORKFLOW", help="path/to/workflow.py[:name] or package.module[:name]"
    )
    parser.add_argument("--no-types", action="store_true", help="leave the types off the edges")
    parser.set_defaults(handler=graph_handler)


def graph_handler(args: argparse.Namespace) -> int:
    from molexp.workflow.errors import TypeResolutionError, WorkflowLoadError
    from molexp.workflow.loader import load_workflow

    try:
        workflow, _ = load_workflow(args.workflow)
        print(workflow.to_mermaid(show_types=not args.no_types), end="")
    except (WorkflowLoadError, TypeResolutionError) as exc:
        return error(str(exc))
    return 0
