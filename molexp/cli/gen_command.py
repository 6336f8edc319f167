"""``molexp gen`` and ``molexp check``: generate typed contexts, or check they are current.

The generator lives in the build-time package ``molexp_codegen`` (jinja2, mypy); it is imported
only when a command runs, so the SDK never needs those at import time.

Exit codes: 0 written / up to date, 1 stale, missing or orphaned (``--check``) or mypy found
errors (``check``), 2 an error that stopped generation (the message names file/task/type).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from molexp_codegen.api import Artifact

__all__ = ["register"]

_MISSING_GEN = (
    "molexp gen needs the generator's dependencies (jinja2, mypy): pip install 'molexp[gen]'"
)


def register(subparsers: Any) -> None:
    gen = subparsers.add_parser(
        "gen",
        help="generate typed TaskContext subclasses from a workflow module",
        description=(
            "Import each workflow module, read its Workflow graph and write "
            "<stem>_contexts.py beside it: one TaskContext subclass per task, a TypedDict "
            "per fan-in and per-edge static checks for mypy."
        ),
    )
    _common(gen)
    gen.add_argument("-o", "--output", type=Path, help="output file (one PATH only)")
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a diff when a generated file is stale or missing",
    )
    gen.set_defaults(handler=_gen)

    check = subparsers.add_parser(
        "check",
        help="gen --check plus mypy on the workflow module's package (the CI gate)",
        description=(
            "Check that the generated contexts are current, then run mypy on the package "
            "of each workflow module (with your mypy configuration)."
        ),
    )
    _common(check)
    check.add_argument(
        "--mypy-arg",
        dest="mypy_args",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to mypy (repeatable), e.g. --mypy-arg=--strict",
    )
    check.set_defaults(handler=_check)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="workflow module: file.py or package.module"
    )
    parser.add_argument("--workflow", help="generate only the workflow with this name")
    parser.add_argument(
        "--stubs",
        type=Path,
        metavar="DIR",
        help="write stub-only contexts DIR/<stem>_contexts.pyi instead of a runtime module",
    )
    parser.add_argument(
        "--line-length",
        type=int,
        default=None,
        help="line length the output is laid out for (default: the project's ruff "
        "line-length from pyproject.toml/ruff.toml, else 88)",
    )


def _err(message: str) -> None:
    print(f"molexp: error: {message}", file=sys.stderr)


def _plan_all(args: argparse.Namespace) -> tuple[list[Artifact], bool]:
    """Plan every PATH; returns the artifacts and whether any PATH failed."""
    from molexp_codegen.api import plan
    from molexp_codegen.errors import CodegenError

    output = getattr(args, "output", None)
    if output is not None and len(args.paths) > 1:
        _err("-o/--output takes a single PATH")
        return [], True
    artifacts: list[Artifact] = []
    failed = False
    for target in args.paths:
        try:
            artifact = plan(
                target,
                output=output,
                workflow=args.workflow,
                stubs=args.stubs,
                line_length=args.line_length,
            )
        except CodegenError as exc:
            _err(str(exc))
            failed = True
            continue
        for warning in artifact.warnings:
            print(f"molexp: warning: {warning}", file=sys.stderr)
        mine = {p for p, _ in artifact.files}
        clash = next((a for a in artifacts if mine & {p for p, _ in a.files}), None)
        if clash is not None:
            # Two modules with one file name (stubs are named by stem): one would overwrite
            # the other's contexts.
            _err(
                f"{clash.located.file} and {artifact.located.file} would both write "
                f"{artifact.path}; generate them separately (e.g. -o or another --stubs DIR)"
            )
            failed = True
            artifacts.remove(clash)  # write neither
            continue
        artifacts.append(artifact)
    return artifacts, failed


def _have_generator() -> bool:
    try:
        import jinja2  # noqa: F401
    except ImportError:
        _err(_MISSING_GEN)
        return False
    return True


def _gen(args: argparse.Namespace) -> int:
    if not _have_generator():
        return 2
    artifacts, failed = _plan_all(args)
    if args.check:
        status = _report_check(artifacts)
        return 2 if failed else status
    from molexp_codegen.api import written
    from molexp_codegen.errors import CodegenError

    for artifact in artifacts:
        try:
            files = written(artifact)
        except CodegenError as exc:
            _err(str(exc))
            failed = True
            continue
        for path, rewritten in files:
            shown = os.path.relpath(path)
            print(f"wrote {shown}" if rewritten else f"{shown} is up to date")
    return 2 if failed else 0


def _report_check(artifacts: list[Artifact], problems: list[str] | None = None) -> int:
    """Print each generated file's state; 1 when any is stale, missing or orphaned (each
    appended to ``problems`` as ``"FILE is stale"``)."""
    from molexp_codegen.api import compare, find_orphans

    found: list[str] = [] if problems is None else problems
    for artifact in artifacts:
        for path, state, diff in compare(artifact):
            shown = os.path.relpath(path)
            if state == "current":
                print(f"{shown} is up to date")
            elif state == "missing":
                print(f"{shown} is missing: run molexp gen {_source_arg(artifact)}")
                found.append(f"{shown} is missing")
            else:
                print(f"{shown} is stale: run molexp gen {_source_arg(artifact)}")
                sys.stdout.write(diff)
                found.append(f"{shown} is stale")
    folders = [a.path.parent for a in artifacts]
    for orphan in find_orphans(folders, [p for a in artifacts for p, _ in a.files]):
        print(f"{os.path.relpath(orphan)} is orphaned: its workflow module is gone; delete it")
        found.append(f"{os.path.relpath(orphan)} is orphaned")
    return 1 if found else 0


def _source_arg(artifact: Artifact) -> str:
    cmd = os.path.relpath(artifact.located.file)
    if artifact.stub:
        cmd += f" --stubs {os.path.relpath(artifact.path.parent)}"
    return cmd


_MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?P<rest>.*)$")
_EDGE_DEF = re.compile(r"^    (?:async )?def (?P<name>(?:edge|fan_in|channel|map|workflow)__\w+)\(")


def _check(args: argparse.Namespace) -> int:
    if not _have_generator():
        return 2
    artifacts, failed = _plan_all(args)
    problems: list[str] = []
    status = _report_check(artifacts, problems)
    if failed:
        return 2
    if not artifacts:
        return status
    mypy_args: list[str] = list(args.mypy_args)
    with tempfile.TemporaryDirectory(prefix="molexp-check-") as tmp:
        files, edge_maps = _mypy_targets(artifacts, Path(tmp))
        stub_folders = [str(a.path.parent) for a in artifacts if a.stub]
        mypy_status = _run_mypy([*files, *mypy_args], edge_maps, stub_folders)
    if problems:
        # The last line is the verdict: mypy's "Success" above checked the stale contexts.
        fixes = " ; ".join(dict.fromkeys(f"molexp gen {_source_arg(a)}" for a in artifacts))
        print(
            f"molexp check: stale: {', '.join(problems)}; mypy above checked the files as "
            f"they are, not what molexp gen would write; run: {fixes}"
        )
    return max(status, mypy_status)


def _mypy_targets(
    artifacts: list[Artifact], tmp: Path
) -> tuple[list[str], dict[Path, list[tuple[int, str, str]]]]:
    """What mypy checks: each module's package (or file), plus the checks of stubs."""
    targets: list[str] = []
    edge_maps: dict[Path, list[tuple[int, str, str]]] = {}
    for artifact in artifacts:
        located = artifact.located
        top = located.name.split(".", 1)[0]
        root = located.root
        package = root / top if root is not None and "." in located.name else located.file
        if str(package) not in targets:
            targets.append(str(package))
        if artifact.stub:
            checks = tmp / f"{artifact.path.stem}_edges.py"
            checks.write_text(artifact.checks_text(), encoding="utf-8")
            targets.append(str(checks))
            edge_maps[checks.resolve()] = _edge_lines(
                checks.read_text(encoding="utf-8"), artifact.spec.edges
            )
        elif artifact.edges_path is not None:
            edge_maps[artifact.edges_path.resolve()] = _edge_lines(
                artifact.edges_text, artifact.spec.edges
            )
    return targets, edge_maps


def _edge_lines(text: str, edges: Sequence[Any] = ()) -> list[tuple[int, str, str]]:
    """``(line, check function, the edge in words)`` of each check in a generated module."""
    words = {edge.name: edge.words for edge in edges}
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EDGE_DEF.match(line)
        if match:
            found.append((number, match["name"], words.get(match["name"], "")))
    return found


def _run_mypy(
    argv: list[str], edge_maps: dict[Path, list[tuple[int, str, str]]], stub_folders: list[str]
) -> int:
    """mypy as the user runs it: their configuration and their interpreter's search path
    (molexp is found there like any installed package). The one addition is the folder
    that ``--stubs DIR`` names, so the stub contexts resolve without a ``mypy_path``."""
    from mypy import api as mypy_api

    saved = os.environ.get("MYPYPATH")
    current = [p for p in (saved or "").split(os.pathsep) if p]
    search = current + [p for p in dict.fromkeys(stub_folders) if p not in current]
    if search:
        os.environ["MYPYPATH"] = os.pathsep.join(search)
    try:
        stdout, stderr, code = mypy_api.run(argv)
    finally:
        if saved is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = saved
    for line in stdout.splitlines():
        print(_annotate(line, edge_maps))
    if stderr:
        sys.stderr.write(stderr)
    if code == 0:
        return 0
    return 1 if code == 1 else 2


def _annotate(line: str, edge_maps: dict[Path, list[tuple[int, str, str]]]) -> str:
    """Name the edge whose check function holds a mypy error in a generated module."""
    match = _MYPY_LINE.match(line)
    if not match or " error: " not in f" {match['rest']}":
        return line
    edges = edge_maps.get(Path(match["file"]).resolve())
    if not edges:
        return line
    number = int(match["line"])
    owner = words = None
    for start, name, described in edges:
        if start <= number:
            owner, words = name, described
    if owner is None:
        return line
    return f"{line}  [in {owner}]" + (f"\n    edge: {words}" if words else "")
