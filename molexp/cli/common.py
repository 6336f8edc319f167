"""Helpers shared by the CLI commands: the workspace option, errors, value formatting."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_WORKSPACE",
    "add_workspace_argument",
    "error",
    "format_size",
    "format_value",
    "resolve_workspace",
    "table",
]

DEFAULT_WORKSPACE = "molexp-workspace"


def add_workspace_argument(parser: argparse.ArgumentParser, *, inherit: bool = False) -> None:
    """``--workspace DIR``. ``inherit``: a sub-action's copy that keeps the parent's value
    unless given again (argparse would otherwise reset it to the default)."""
    default = os.environ.get("MOLEXP_WORKSPACE", DEFAULT_WORKSPACE)
    parser.add_argument(
        "--workspace",
        default=argparse.SUPPRESS if inherit else default,
        metavar="DIR",
        help=f"workspace folder (default: $MOLEXP_WORKSPACE or ./{DEFAULT_WORKSPACE})",
    )


def add_run_arguments(parser: argparse.ArgumentParser, *, profile_help: str, set_help: str) -> None:
    """What ``run`` and ``sweep`` share: the workspace, project and experiment, the profile
    and its file, and ``-s KEY=VALUE`` overrides."""
    add_workspace_argument(parser)
    parser.add_argument("--project", default="default", help="project name (default: default)")
    parser.add_argument("--experiment", help="experiment name (default: the workflow's name)")
    parser.add_argument("--profile", help=profile_help)
    parser.add_argument(
        "--profile-file",
        type=Path,
        help="profile file (default: the nearest molexp.toml or pyproject.toml with "
        "[tool.molexp], from the workflow's folder up)",
    )
    parser.add_argument(
        "-s",
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_help,
    )


def shown_path(path: Any) -> str:
    """A path as the CLI prints it: relative to here when below here, else absolute."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def resolve_workspace(args: argparse.Namespace, start: Any = None) -> str:
    """The workspace folder: ``--workspace``, else ``$MOLEXP_WORKSPACE``, else the
    ``workspace = "DIR"`` of the nearest molexp.toml (or [tool.molexp]) from ``start`` (the
    workflow file; default: the current folder) up, else ./molexp-workspace. Sets
    ``args.workspace`` to it."""
    given: str = args.workspace
    if given != DEFAULT_WORKSPACE or "MOLEXP_WORKSPACE" in os.environ:
        return given
    from pathlib import Path

    from molexp.profile_file import ProfileError, ProfileFile, find_profile_file

    found = find_profile_file(start if start is not None else Path.cwd())
    if found is None:
        return given
    try:
        declared = ProfileFile.load(found).workspace
    except ProfileError:
        return given  # the command that reads the profile reports it
    if declared is not None:
        args.workspace = shown_path(declared)
    return str(args.workspace)


def error(message: str, code: int = 2) -> int:
    """Print ``error: message`` to stderr and return the exit code (2: usage/input)."""
    print(f"error: {message}", file=sys.stderr)
    return code


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def format_value(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain left-aligned text table."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
