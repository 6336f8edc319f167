"""What a tracked execution records in run.json besides its status: ``execution``.

``execution`` holds the molexp version, the workflow's name and graph fingerprint, the git
commit of the repository holding the workflow's module (when it is in one), the attempt,
per task its status, duration and the attempt that last ran it, and the graph itself (nodes
and edges, what ``molexp report`` draws; left out above ``GRAPH_RECORD_MAX`` nodes). Tasks an attempt did not run
keep what an earlier attempt recorded. Recording it never fails a run: a problem is logged.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from molexp._version import __version__

if TYPE_CHECKING:
    from molexp.runtime.result import WorkflowResult
    from molexp.workflow.graph import Workflow
    from molexp.workspace import RunContext

__all__ = [
    "EXECUTION_KEY",
    "GRAPH_RECORD_MAX",
    "execution_record",
    "git_commit",
    "graph_record",
    "record_execution",
]

EXECUTION_KEY = "execution"
GRAPH_RECORD_MAX = 2_000
"""Larger graphs are not copied into every run.json (a report then needs ``--workflow``)."""
log = logging.getLogger("molexp.runtime")


def record_execution(
    run_context: RunContext, workflow: Workflow[Any, Any, Any], result: WorkflowResult[Any]
) -> None:
    """Write ``execution`` into the run's run.json (merged with an earlier attempt's)."""
    try:
        run = run_context.run
        earlier = run.info().get(EXECUTION_KEY)
        previous = earlier.get("tasks") if isinstance(earlier, dict) else None
        record = execution_record(workflow, result, run_context.attempt, previous)
        run.annotate(EXECUTION_KEY, record)
    except Exception as exc:  # provenance must never turn a run's outcome around
        log.warning("run %s: could not record its execution: %s", run_context.run_id, exc)


def execution_record(
    workflow: Workflow[Any, Any, Any],
    result: WorkflowResult[Any],
    attempt: int,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from molexp.workflow.fingerprint import wiring_fingerprint

    tasks: dict[str, Any] = dict(previous or {})
    failed = result.failure.task_id if result.failure is not None else None
    for task_id, seconds in result.durations.items():
        status = "failed" if task_id == failed else "succeeded"
        tasks[task_id] = {"status": status, "duration": round(seconds, 6), "attempt": attempt}
    if failed is not None and failed not in result.durations:
        tasks[failed] = {"status": "failed", "duration": None, "attempt": attempt}
    for task_id in result.cancelled:
        tasks[task_id] = {"status": "cancelled", "duration": None, "attempt": attempt}
    for task_id in result.not_started:
        tasks.setdefault(task_id, {"status": "not started", "duration": None, "attempt": None})
    module = sys.modules.get(workflow.module or "")
    source = getattr(module, "__file__", None)
    return {
        "molexp_version": __version__,
        "workflow": workflow.name,
        "graph_fingerprint": wiring_fingerprint(workflow),
        "git_commit": git_commit(Path(source).resolve().parent) if source else None,
        "attempt": attempt,
        "status": str(result.status),
        "tasks": tasks,
        "graph": graph_record(workflow, limit=GRAPH_RECORD_MAX),
    }


def graph_record(workflow: Workflow[Any, Any, Any], limit: int | None = None) -> Any:
    """The workflow's nodes and edges as JSON (None above ``limit`` nodes):
    ``{"name", "nodes": [{"id", "task"}], "edges": [{"source", "target", "label", "stream"}]}``.
    ``label`` is the fan-in key where it is not the upstream's id; ``stream`` marks a
    channel between actors."""
    nodes = workflow.nodes
    if limit is not None and len(nodes) > limit:
        return None
    edges = []
    for node in nodes:
        for key, up in node.upstream.items():
            stream = bool(node.is_actor and up.is_actor)
            label = key if node.input_shape == "fan_in" and not stream and key != up.id else ""
            edges.append({"source": up.id, "target": node.id, "label": label, "stream": stream})
    return {
        "name": workflow.name,
        "nodes": [{"id": n.id, "task": type(n.task).__name__} for n in nodes],
        "edges": edges,
    }


@functools.cache
def git_commit(folder: Path) -> str | None:
    """The commit checked out in the git repository holding ``folder`` (read from ``.git``
    without running git, so a sweep of many runs pays nothing), or None outside one."""
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_file():  # a worktree or submodule: "gitdir: PATH"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            dot_git = (candidate / text.removeprefix("gitdir:").strip()).resolve()
        if dot_git.is_dir():
            return _head(dot_git)
    return None


def _head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None  # a detached HEAD: the commit itself
    ref = head.removeprefix("ref:").strip()
    common = git_dir
    commondir = git_dir / "commondir"  # a worktree keeps its branches in the main .git
    if commondir.is_file():
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git_dir, common):
        try:
            return (base / ref).read_text(encoding="utf-8").strip() or None
        except OSError:
            continue
    try:
        packed = (common / "packed-refs").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha
    return None
