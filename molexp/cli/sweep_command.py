"""``molexp sweep``: one tracked run per cell of a parameter grid (x replicas), then run them."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from typing import Any

from molexp.cli.common import add_run_arguments, error, resolve_workspace

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a workflow over a grid of config values, one tracked run per cell",
        description=(
            "Create one run of WORKFLOW per cell of the parameter space (every --grid key "
            "crossed with the others, --zip keys varying together) times --replicas, check "
            "every value against the profile's declared keys and types first, then run the "
            "runs that have not succeeded. Run ids are derived from each cell, so repeating "
            "the command adds nothing already present and re-runs only unfinished cells. "
            "Exit codes: 0 every run succeeded, 1 some failed, 2 usage or input error."
        ),
    )
    parser.add_argument(
        "workflow", metavar="WORKFLOW", help="path/to/workflow.py[:name] or package.module[:name]"
    )
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a config key (dotted for tables) and its values, each a TOML literal else a "
        "string; the cells are the cartesian product of every --grid (repeatable)",
    )
    parser.add_argument(
        "--zip",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="keys that vary together, one value of each per cell (all --zip lists of one "
        "length), crossed with the grid (repeatable)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        metavar="N",
        help="N runs per cell, with config seed = base seed + replica (recorded as params "
        "'replica' and 'seed')",
    )
    parser.add_argument(
        "--seed-key",
        default="seed",
        metavar="KEY",
        help="with --replicas: the config key that receives the seed (default: seed)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="runs in flight at once (default 1); CPU-bound tasks need --dask to use more cores",
    )
    add_run_arguments(
        parser,
        profile_help="base profile from molexp.toml / [tool.molexp]",
        set_help="override a config key of the base profile for every cell",
    )
    parser.add_argument(
        "--max-concurrency", type=int, metavar="N", help="task bodies at once within one run"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the tasks on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://host:8786); needs pip install 'molexp[dask]' and a shared filesystem",
    )
    parser.set_defaults(handler=sweep_handler)


def sweep_handler(args: argparse.Namespace) -> int:
    from molexp.config_check import (
        OverrideError,
        check_override,
        check_overrides,
        class_paths,
        declared_paths,
        declared_tables,
        shown_path,
    )
    from molexp.profile_file import ProfileError, find_profile_file, resolve_profile
    from molexp.sweeps import SweepError, parse_values, sweep
    from molexp.workflow.errors import WorkflowLoadError
    from molexp.workflow.loader import load_workflow

    for option, value in (
        ("--replicas", args.replicas),
        ("--parallel", args.parallel),
        ("--max-concurrency", args.max_concurrency),
    ):
        if value is not None and value < 1:
            return error(f"{option} must be a positive integer")
    if not args.grid and not args.zip:
        return error("give the parameter space: --grid KEY=V1,V2 (and/or --zip KEY=V1,V2)")
    try:
        workflow, loaded = load_workflow(args.workflow)
        profile_path = args.profile_file or find_profile_file(loaded.file)
        tables = declared_tables(profile_path)
        check_overrides(args.overrides, profile_path, workflow.config_type)
        known = declared_paths(*tables)
        if workflow.config_type is not None:
            for key, value in class_paths(workflow.config_type).items():
                known.setdefault(key, value)
        sources = [] if profile_path is None else [shown_path(profile_path)]
        if workflow.config_type is not None:
            sources.append(workflow.config_type.__name__)
        source = " or ".join(sources)
        base = resolve_profile(profile_path, args.profile, args.overrides)
        grid = dict(parse_values(text, option="--grid") for text in args.grid)
        zipped = dict(parse_values(text, option="--zip") for text in args.zip)
        for option, space in (("--grid", grid), ("--zip", zipped)):
            for key, values in space.items():
                for value in values:
                    check_override(key, value, known, what=option, source=source)
    except (WorkflowLoadError, ProfileError, OverrideError, SweepError) as exc:
        return error(str(exc))
    except tomllib.TOMLDecodeError as exc:
        return error(str(exc))

    from molexp.workspace import Workspace, WorkspaceError

    resolve_workspace(args, loaded.file)  # molexp.toml's workspace = "DIR" when not given
    try:
        experiment = (
            Workspace(args.workspace)
            .project(args.project)
            .experiment(args.experiment or workflow.name)
        )
        runs = sweep(
            experiment,
            workflow,
            grid=grid,
            zip=zipped,
            replicas=args.replicas,
            config=base,
            declared=[base, *tables],
            seed_key=args.seed_key,
        )
    except SweepError as exc:
        return error(str(exc))
    except (OSError, ValueError, TypeError, WorkspaceError) as exc:
        return error(str(exc))
    unfinished = len(runs.unfinished())
    per_cell = f" x {args.replicas} replicas" if args.replicas else ""
    cell_count = len(runs) // (args.replicas or 1)
    print(
        f"molexp sweep: workflow {workflow.name!r}, {cell_count} cells{per_cell} = {len(runs)} "
        f"runs in {args.project}/{experiment.name} ({runs.added} new, "
        f"{len(runs) - unfinished} already succeeded, {unfinished} to run)",
        flush=True,
    )
    executor: Any = None
    if args.dask:
        try:
            from molexp.executors.dask import DaskExecutor
        except ImportError as exc:
            return error(f"--dask needs Dask distributed ({exc}); pip install 'molexp[dask]'")
        root = loaded.file.parents[loaded.name.count(".")]
        executor = DaskExecutor(args.dask, sys_path=[str(root)])
    finished = [0]

    def on_done(cell: Any, status: str) -> None:
        if status == "skipped":
            return
        finished[0] += 1
        shown = " ".join(f"{k}={v}" for k, v in cell.params.items())
        print(f"[{finished[0]}/{unfinished}] {status:<9} {cell.run.id}  {shown}", flush=True)

    try:
        report = asyncio.run(_execute(runs, args, executor, on_done))
    except KeyboardInterrupt:
        print("\ninterrupted: repeat the command to run the unfinished cells", file=sys.stderr)
        return 130
    except _InputError as exc:
        return error(str(exc))
    print(
        f"\n{len(report.succeeded)} succeeded, {len(report.failed)} failed, "
        f"{len(report.skipped)} already succeeded, {len(report.busy)} running elsewhere"
    )
    for run in report.failed:
        failure = run.error
        what = f"{failure.task_id}: {failure.type}: {failure.message}" if failure else "failed"
        print(f"  failed {run.id}: {what}")
    ws = "" if args.workspace == _default_workspace() else f" --workspace {args.workspace}"
    print(f"next: molexp runs compare --experiment {experiment.name}{ws}")
    return 0 if report.ok else 1


class _InputError(Exception):
    """The Dask scheduler could not be reached (exit 2, before any run started)."""


async def _execute(runs: Any, args: argparse.Namespace, executor: Any, on_done: Any) -> Any:
    if executor is not None:
        try:
            await executor.prepare()
        except Exception as exc:
            raise _InputError(
                f"--dask {args.dask}: cannot reach the Dask scheduler: {type(exc).__name__}: {exc}"
            ) from exc
    try:
        return await runs.execute_async(
            parallel=args.parallel,
            executor=executor,
            max_concurrency=args.max_concurrency,
            on_done=on_done,
        )
    finally:
        if executor is not None:
            await executor.release()


def _default_workspace() -> str:
    import os

    from molexp.cli.common import DEFAULT_WORKSPACE

    return os.environ.get("MOLEXP_WORKSPACE", DEFAULT_WORKSPACE)
