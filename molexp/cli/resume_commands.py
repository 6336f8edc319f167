"""``molexp cache explain``, and the resume helpers of ``molexp run --resume`` / ``runs show``."""

from __future__ import annotations

import argparse
from typing import Any

from molexp.cli.common import add_workspace_argument, error

__all__ = ["print_attempts", "register", "resumable_run"]


def register(subparsers: Any) -> None:
    cache = subparsers.add_parser("cache", help="inspect the cross-run task cache")
    cache_sub = cache.add_subparsers(title="commands", metavar="COMMAND")
    explain = cache_sub.add_parser(
        "explain",
        help="say why a task of a run was a cache hit or miss",
        description=(
            "Print the cache key of TASK in RUN and, for a miss, which parts of the key "
            "(task class, code, parameters, cache_version, profile config, inputs, codec "
            "version) changed since the last cached output of that task class."
        ),
    )
    add_workspace_argument(explain)
    explain.add_argument("run", metavar="RUN", help="run id, a unique prefix of one, or 'latest'")
    explain.add_argument("task", metavar="TASK", help="task id in that run")
    explain.set_defaults(handler=cache_explain)
    cache.set_defaults(handler=lambda args: (cache.print_help(), 2)[1])


def _find_run(ws: Any, text: str) -> Any:
    from molexp.cli.workspace_commands import _resolve

    return _resolve(ws, text)


def resumable_run(ws: Any, text: str) -> Any:
    """The run ``--resume`` names, or a one-line reason it cannot be resumed."""
    from molexp.workspace import WorkspaceError

    try:
        run = _find_run(ws, text)
        run.mark_interrupted()  # a killed owner's run reads "running" until then
        status = str(run.status)
    except (LookupError, ValueError, WorkspaceError) as exc:
        return f"--resume {text}: {exc}"
    if status == "succeeded":
        return f"--resume {text}: run {run.id} already succeeded; nothing to resume"
    if status == "running":
        return (
            f"--resume {text}: run {run.id} is still running (its owner is alive); "
            "wait for it or stop it first"
        )
    return run


def print_attempts(run: Any) -> None:
    """The run's attempts, and per task how its output was obtained (``runs show``)."""
    from molexp.caching.outputs import TASKS_JSONL, read_records

    info = run.info()
    attempts = info.get("attempts") or []
    if len(attempts) > 1:
        print(f"attempts ({len(attempts)}):")
        for a in attempts:
            print(
                f"  {a.get('attempt')}: {a.get('status'):<11} started {a.get('started_at')}"
                f"  finished {a.get('finished_at') or '-'}  pid {a.get('pid')}"
            )
    records = read_records(run.path / TASKS_JSONL)
    if not records:
        return
    outcome: dict[str, str] = {}
    failed: dict[str, int] = {}
    for record in records:
        task, event = record["task"], record.get("event")
        attempt = record.get("run_attempt")
        if event == "output":
            source = record.get("source")
            outcome[task] = (
                f"cached from run {source.get('run')}"
                if source
                else f"computed in attempt {attempt}"
            )
        elif event == "reused":
            outcome[task] = f"{outcome.get(task, 'stored')}, reused in attempt {attempt}"
        elif event == "unstored":
            outcome[task] = f"output not stored: {record.get('note')}"
        elif event == "try":
            failed[task] = failed.get(task, 0) + 1
    print(f"tasks ({len(outcome)} with outputs):")
    width = max(len(t) for t in outcome)
    for task, text in outcome.items():
        tries = f"  ({failed[task]} failed tries)" if task in failed else ""
        print(f"  {task:<{width}}  {text}{tries}")


def cache_explain(args: argparse.Namespace) -> int:
    from molexp.caching.outputs import TASKS_JSONL, read_records
    from molexp.caching.store import CacheStore, explain
    from molexp.cli.workspace_commands import _workspace
    from molexp.workspace import WorkspaceError

    try:
        ws = _workspace(args)
        run = _find_run(ws, args.run)
    except (LookupError, ValueError, WorkspaceError) as exc:
        return error(str(exc))
    outputs = [
        r
        for r in read_records(run.path / TASKS_JSONL)
        if r["task"] == args.task and r.get("event") == "output"
    ]
    if not outputs:
        return error(f"run {run.id} has no stored output of task {args.task!r}")
    for line in explain(CacheStore(ws.root), outputs[-1]):
        print(line)
    return 0
