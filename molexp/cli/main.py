"""``molexp`` console script: dispatches to one module per subcommand.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` to a function taking the parsed namespace and returning the exit code.
Exit codes: 0 ok, 1 the checked thing failed (a run, a stale module), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from molexp._version import __version__

__all__ = ["build_parser", "main"]

# Imported lazily per call so `molexp --help` stays fast and the SDK never imports the
# generator's dependencies (jinja2, mypy) at import time.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "molexp.cli.run_command",
    "molexp.cli.gen_command",
    "molexp.cli.workspace_commands",
    "molexp.cli.graph_command",
    "molexp.cli.report_command",
    "molexp.cli.sweep_command",
    "molexp.cli.resume_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="molexp",
        description="Typed task graphs for molecular-simulation workflows.",
    )
    parser.add_argument("--version", action="version", version=f"molexp {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if not (argv if argv is not None else sys.argv[1:]) else 2
    try:
        return handler(args)
    except BrokenPipeError:
        # `molexp runs | head`: the reader left; exit quietly like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
