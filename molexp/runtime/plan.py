"""Plan: a workflow compiled to flat, index-based tables the scheduler walks quickly."""

from __future__ import annotations

from typing import Any, NamedTuple

from molexp.context import TaskContext
from molexp.runtime.compose import is_composed
from molexp.workflow.actor import Actor
from molexp.workflow.graph import Workflow
from molexp.workflow.introspect import context_class
from molexp.workflow.task import Task

__all__ = ["Plan", "plan_for"]

_SHAPES = {"root": 0, "single": 1, "fan_in": 2}
_FORMS = {"mapping": 2, "list": 3, "tuple": 4}


class Plan(NamedTuple):
    # A NamedTuple, not attrs or a dataclass: cheaper to define at import (issue 16).

    ids: tuple[str, ...]
    tasks: tuple[Task[Any, Any] | Actor[Any, Any], ...]
    is_actor: tuple[bool, ...]
    context_classes: tuple[type[TaskContext[Any, Any, Any]], ...]
    shape: tuple[int, ...]
    """0 root (workflow input), 1 single upstream (its value), 2 fan-in as a mapping,
    3 fan-in as a list, 4 fan-in as a tuple (values in ``after=`` order)."""
    upstream: tuple[tuple[tuple[str, int], ...], ...]
    """Per node: (input key, upstream index) pairs feeding ctx.inputs, in declaration order."""
    downstream: tuple[tuple[int, ...], ...]
    """Per node: the nodes that wait for it to finish."""
    indegree: tuple[int, ...]
    roots: tuple[int, ...]
    producers: tuple[int, ...]
    """Per actor: how many upstream actors send into its input channel."""
    channel_downstream: tuple[tuple[int, ...], ...]
    """Per actor: the downstream actors its ``send``s go to."""
    has_actors: bool
    executor_labels: tuple[str | None, ...]
    """Per node: the executor label given to ``wf.add`` (None: the default executor)."""
    composed: tuple[bool, ...] = ()
    """Per node: a map or a sub-workflow, run by ``molexp.runtime.compose``."""


def plan_for(workflow: Workflow[Any, Any, Any]) -> Plan:
    """The plan of ``workflow``, cached until a task is added (workflows only grow)."""
    cached: Plan | None = getattr(workflow, "_plan_cache", None)
    if cached is not None and len(cached.ids) == len(workflow):
        return cached
    nodes = workflow.nodes
    downstream: list[list[int]] = [[] for _ in nodes]
    channel_downstream: list[list[int]] = [[] for _ in nodes]
    upstream = []
    for node in nodes:
        pairs = tuple((key, up.index) for key, up in node.input_upstream.items())
        for _, up_index in pairs:
            downstream[up_index].append(node.index)
        for up in node.channel_upstream.values():
            channel_downstream[up.index].append(node.index)
        upstream.append(pairs)
    # One context class per task class (it depends on nothing else): a scan of 100,000
    # nodes of one class introspects it once.
    contexts: dict[type[Any], type[TaskContext[Any, Any, Any]]] = {}
    for node in nodes:
        if type(node.task) not in contexts:
            contexts[type(node.task)] = context_class(node.task)
    plan = Plan(
        ids=tuple(n.id for n in nodes),
        tasks=tuple(n.task for n in nodes),
        is_actor=tuple(n.is_actor for n in nodes),
        context_classes=tuple(contexts[type(n.task)] for n in nodes),
        shape=tuple(
            _FORMS[n.fan_in_form] if n.input_shape == "fan_in" else _SHAPES[n.input_shape]
            for n in nodes
        ),
        upstream=tuple(upstream),
        downstream=tuple(tuple(d) for d in downstream),
        indegree=tuple(len(p) for p in upstream),
        roots=tuple(n.index for n in nodes if not n.input_upstream),
        producers=tuple(len(n.channel_upstream) for n in nodes),
        channel_downstream=tuple(tuple(d) for d in channel_downstream),
        has_actors=any(n.is_actor for n in nodes),
        executor_labels=tuple(n.executor for n in nodes),
        composed=tuple(is_composed(n) for n in nodes),
    )
    workflow._plan_cache = plan  # type: ignore[attr-defined]
    return plan
