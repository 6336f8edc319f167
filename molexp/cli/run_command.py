"""``molexp run``: a workflow file to a tracked run, with a profile, in one command."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from molexp.cli.common import (
    DEFAULT_WORKSPACE,
    add_run_arguments,
    error,
    format_value,
    resolve_workspace,
    shown_path,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a workflow as a tracked run in a workspace",
        description=(
            "Run WORKFLOW (path/to/workflow.py[:name] or package.module[:name]) as a tracked "
            "run. State, deps and the workflow input are built from the profile by the "
            "workflow's make_state / make_deps / make_input. Exit codes: 0 the run "
            "succeeded, 1 it failed, 2 usage or input error, 130 interrupted."
        ),
    )
    parser.add_argument(
        "workflow", metavar="WORKFLOW", help="path/to/workflow.py[:name] or package.module[:name]"
    )
    add_run_arguments(
        parser,
        profile_help="profile name from molexp.toml / [tool.molexp]",
        set_help="override a config key (dotted for tables; TOML literal, else a string)",
    )
    parser.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run parameter recorded in run.json (TOML literal, else a string)",
    )
    parser.add_argument(
        "--max-concurrency", type=int, metavar="N", help="at most N task bodies at once"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the tasks on the Dask cluster whose scheduler is at ADDRESS "
        "(tcp://host:8786); actors stay local. Needs pip install 'molexp[dask]' and a "
        "workspace on a filesystem the workers share",
    )
    parser.add_argument(
        "--dask-label",
        dest="dask_labels",
        action="append",
        default=[],
        metavar="LABEL",
        help="with --dask: only the tasks added with executor=LABEL run on Dask, the others "
        "locally (repeatable)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run task bodies in N worker processes of this machine (CPU-bound Python "
        "tasks); when tasks are added with executor='cpu', only those. Needs pip install "
        "'molexp[cpu]'",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue RUN (failed, cancelled or interrupted; an id, a unique prefix or "
        "'latest') as a new attempt: tasks whose output it stored are not run again. Uses "
        "the run's recorded profile (docs/resume.md)",
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="opt every task into the workspace's cross-run cache (docs/resume.md)",
    )
    parser.set_defaults(handler=run_handler)


def run_handler(args: argparse.Namespace) -> int:
    from molexp.config_check import OverrideError, check_config_class, check_overrides
    from molexp.profile_file import ProfileError, find_profile_file, parse_override, resolve_profile
    from molexp.workflow.errors import WorkflowLoadError
    from molexp.workflow.loader import load_workflow

    if args.max_concurrency is not None and args.max_concurrency < 1:
        return error("--max-concurrency must be a positive integer")
    if args.dask_labels and not args.dask:
        return error("--dask-label needs --dask ADDRESS")
    if args.workers is not None and args.workers < 1:
        return error("--workers must be a positive integer")
    if args.workers is not None and args.dask:
        return error("--workers and --dask cannot be combined; pick one place to run tasks")
    if args.resume is not None:
        given = [
            flag
            for flag, value in (
                ("--profile", args.profile),
                ("--profile-file", args.profile_file),
                ("--set", args.overrides),
                ("--param", args.params),
                ("--experiment", args.experiment),
            )
            if value
        ]
        if given:
            return error(
                f"--resume continues the run with its recorded profile, params and "
                f"experiment; drop {given[0]}"
            )
    try:
        workflow, loaded = load_workflow(args.workflow)
        profile_file = args.profile_file or find_profile_file(loaded.file)
        # Unknown keys (nearest known one named) and ill-typed values fail before the run.
        check_overrides(args.overrides, profile_file, workflow.config_type)
        config = resolve_profile(profile_file, args.profile, args.overrides)
        check_config_class(config, workflow.config_type)
        params: dict[str, Any] = {}
        for text in args.params:
            path, value = parse_override(text)
            params[".".join(path)] = value
    except (WorkflowLoadError, ProfileError, OverrideError, tomllib.TOMLDecodeError) as exc:
        return error(str(exc))
    placement = _Placement()
    if args.dask:
        # The workers import the task modules from the workflow's folder (shared filesystem).
        root = loaded.file.parents[loaded.name.count(".")]
        chosen = _dask_placement(args.dask, args.dask_labels, workflow, str(root))
        if isinstance(chosen, str):
            return error(chosen)
        placement = chosen
    elif args.workers is not None:
        root = loaded.file.parents[loaded.name.count(".")]  # where the workers import from
        chosen = _process_placement(args.workers, workflow, str(root))
        if isinstance(chosen, str):
            return error(chosen)
        placement = chosen

    from molexp.workspace import Workspace, WorkspaceError

    resolve_workspace(args, loaded.file)  # molexp.toml's workspace = "DIR" when not given
    not_folder = _not_a_folder(Path(args.workspace).expanduser())
    if not_folder is not None:
        return error(f"--workspace {args.workspace}: {not_folder} is a file, not a folder")
    resumed: Any = None
    try:
        workspace = Workspace(args.workspace)
        if args.resume is not None:
            from molexp.cli.resume_commands import resumable_run

            resumed = resumable_run(workspace, args.resume)
            if isinstance(resumed, str):
                return error(resumed)
            experiment = resumed.experiment
            config = resumed.config
        else:
            experiment = workspace.project(args.project).experiment(
                args.experiment or workflow.name
            )
    except OSError as exc:
        return error(_os_error(Path(args.workspace), exc))
    except (ValueError, TypeError, WorkspaceError) as exc:
        hint = "" if args.experiment else " (name one with --experiment)"
        return error(f"{exc}{hint}")
    holder: list[Any] = []

    def announce(run: Any) -> None:
        holder.append(run)
        if args.overrides:  # `molexp runs show` marks these keys of the resolved config
            run.annotate("overrides", _override_map(args.overrides))
        where = f"{run.project_name}/{experiment.name}/{run.id}"
        profile_text = f"profile {config.name!r}" if config.name else "no profile"
        on = ""
        if args.dask:
            which = " ".join(f"[{label}]" for label in args.dask_labels) or "all"
            on = f", tasks on Dask at {args.dask}: {which}"
        elif args.workers is not None:
            which = "[cpu]" if placement.executors else "all"
            on = f", tasks on {args.workers} worker processes: {which}"
        again = f" (resumed: attempt {run.attempt + 1})" if resumed is not None else ""
        print(
            f"molexp run: workflow {workflow.name!r} ({len(workflow)} tasks), {profile_text}, "
            f"run {where}{again}{on}",
            flush=True,
        )

    try:
        result = asyncio.run(
            _execute(
                workflow,
                experiment,
                params,
                config,
                args.max_concurrency,
                placement,
                announce,
                resumed=resumed,
                cache=args.cache,
            )
        )
    except KeyboardInterrupt:
        if not holder:
            print("\ninterrupted before the run started", file=sys.stderr)
            return 130
        run = holder[0]
        print(f"\ninterrupted: run {run.id} is marked cancelled ({run.path})", file=sys.stderr)
        return 130
    except _InputError as exc:
        return error(str(exc))
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if holder:
            _summary(holder[0], None, args.workspace)
        return 1
    _summary(holder[0], result, args.workspace)
    return 0 if result.ok else 1


def _override_map(texts: list[str]) -> dict[str, Any]:
    from molexp.profile_file import parse_override

    return {".".join(path): value for path, value in map(parse_override, texts)}


def _not_a_folder(path: Path) -> Path | None:
    """The first existing path from ``path`` up when it is not a folder (a file in the way)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _os_error(root: Path, exc: OSError) -> str:
    """``workspace DIR: Permission denied: DIR/project``: one line for a filesystem error."""
    reason = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    return f"workspace {root}: {reason}{where}"


class _InputError(Exception):
    """An input error found before any run was created (exit 2): the Dask scheduler could
    not be reached, or the workspace folder cannot be written."""


class _Placement:
    """Where tasks run: the remote executor to connect first, the default, the labels."""

    def __init__(
        self,
        remote: Any = None,
        executor: Any = None,
        executors: dict[str, Any] | None = None,
        address: str | None = None,
    ) -> None:
        self.remote = remote
        self.executor = executor
        self.executors = executors
        self.address = address


def _process_placement(workers: int, workflow: Any, root: str) -> _Placement | str:
    """Executors for --workers N: the tasks labelled ``cpu`` if any, else every task."""
    try:
        from molexp.executors.process import ProcessExecutor
    except ImportError as exc:
        return f"--workers needs cloudpickle ({exc}); pip install 'molexp[cpu]'"
    from molexp.runtime import LocalExecutor

    pool = ProcessExecutor(max_workers=workers, sys_path=[root])
    used = sorted({n.executor for n in workflow.nodes if n.executor is not None})
    if "cpu" not in used:
        return _Placement(pool, pool, None, f"{workers} worker processes")
    local = LocalExecutor()
    return _Placement(pool, local, {label: pool if label == "cpu" else local for label in used})


def _dask_placement(address: str, labels: list[str], workflow: Any, root: str) -> _Placement | str:
    """Executors for --dask (every task, or the --dask-label ones), or an error message."""
    try:
        from molexp.executors.dask import DaskExecutor
    except ImportError as exc:
        return f"--dask needs Dask distributed ({exc}); pip install 'molexp[dask]'"
    from molexp.runtime import LocalExecutor

    dask = DaskExecutor(address, sys_path=[root])
    if not labels:
        return _Placement(dask, dask, None, address)
    used = sorted({n.executor for n in workflow.nodes if n.executor is not None})
    unknown = [label for label in labels if label not in used]
    if unknown:
        known = ", ".join(used) or "none"
        return (
            f"--dask-label {unknown[0]}: no task of workflow {workflow.name!r} has that "
            f"executor label (labels: {known})"
        )
    local = LocalExecutor()
    executors = {label: dask if label in labels else local for label in used}
    return _Placement(dask, local, executors, address)


async def _execute(
    workflow: Any,
    experiment: Any,
    params: dict[str, Any],
    config: Any,
    max_concurrency: int | None,
    placement: _Placement,
    announce: Any,
    *,
    resumed: Any = None,
    cache: bool = False,
) -> Any:
    from molexp.cli.progress import Progress
    from molexp.runtime import WorkflowRuntime
    from molexp.workflow.compose import SubWorkflow

    remote = placement.remote
    if remote is not None:
        try:
            await remote.prepare()  # before a run exists: a wrong address creates none
        except Exception as exc:
            raise _InputError(
                f"--dask {placement.address}: cannot reach the Dask scheduler: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    try:
        try:
            run = resumed if resumed is not None else experiment.add_run(params=params)
        except OSError as exc:
            raise _InputError(_os_error(experiment.workspace.root, exc)) from exc
        announce(run)
        # Maps grow at run time: count what finishes, without a total.
        composed = any(n.map is not None or isinstance(n.task, SubWorkflow) for n in workflow.nodes)
        progress = Progress(None if composed else len(workflow))
        try:
            async with run.start(profile=config) as rc:
                result = await WorkflowRuntime().execute(
                    workflow,
                    config=config,
                    run_context=rc,
                    max_concurrency=max_concurrency,
                    observer=progress,
                    executor=placement.executor,
                    executors=placement.executors,
                    cache=cache,
                )
                if result.failure is not None:
                    failure = result.failure
                    rc.fail(failure.exception, traceback=failure.traceback, task_id=failure.task_id)
        finally:
            progress.close()
    finally:
        if remote is not None:
            await remote.release()
    return result


def _summary(run: Any, result: Any, workspace: str) -> None:
    status = run.status
    print(f"\nstatus: {status}")
    if result is not None and result.failure is not None:
        failure = result.failure
        print(
            f"failed task: {failure.task_id}: {type(failure.exception).__name__}: {failure.exception}"
        )
        print(
            "".join("  " + line for line in failure.traceback.splitlines(keepends=True)[-6:]),
            end="",
        )
    if result is not None and result.durations:
        print("tasks:")
        width = max(len(t) for t in result.durations)
        reused, cached = set(result.reused), result.cached
        for task_id, seconds in result.durations.items():
            how = (
                "  reused (stored by an earlier attempt)"
                if task_id in reused
                else (f"  cached (computed by run {cached[task_id]})" if task_id in cached else "")
            )
            print(f"  {task_id:<{width}}  {seconds:8.3f} s{how}")
        for task_id in result.cancelled:
            print(f"  {task_id:<{width}}  cancelled")
    if result is not None and result.notes:
        print("notes:")
        for note in result.notes:
            print(f"  {note}")
    from molexp.cli.asset_summary import asset_lines

    for line in asset_lines(run.assets()):  # grouped when there are many
        print(line)
    results = run.results
    if results:
        print("results:")
        for key, value in results.items():
            print(f"  {key} = {format_value(value)}")
    print(f"run folder: {shown_path(run.path)}")
    default = os.environ.get("MOLEXP_WORKSPACE", DEFAULT_WORKSPACE)
    ws = "" if workspace == default else f" --workspace {shlex.quote(workspace)}"
    print(f"next: molexp runs show {run.id}{ws}   |   molexp assets --run {run.id}{ws}")
