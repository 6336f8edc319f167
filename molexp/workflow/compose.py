"""Composition: a map over a list known only at run time, and a workflow inside another.

``wf.map(task, over=node)`` places *one* node whose task runs once per element of
``node``'s output (a ``Sequence[T]``); the node's output is the list of the elements'
outputs, in input order. Element ``i`` is attributed as ``<node id>[i]`` (its context's
``task_id``, its assets, logs and progress events).

``SubWorkflow(inner, output=node)`` is a task whose input is ``inner``'s workflow input and
whose output is ``node``'s output. Placed in an outer workflow under id ``relax``, the
inner tasks run with the outer execution's state, deps, config and run, and are
attributed as ``relax.<inner id>`` (``relax[3].minimize`` inside a map). The runtime expands
both (``molexp.runtime.compose``); this module only declares them.

Ids are plain strings, so anything keyed by task id (progress, assets, a persistence
layer) can key on an element or an inner task without knowing about composition.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from molexp.context import TaskContext
from molexp.workflow.errors import WorkflowDefinitionError
from molexp.workflow.task import Task

if TYPE_CHECKING:
    from molexp.workflow.graph import Node, Workflow

__all__ = ["MapSpec", "SubWorkflow", "element_id", "inner_id"]

StateT = TypeVar("StateT", default=Any)
DepsT = TypeVar("DepsT", default=Any)
InT = TypeVar("InT", default=Any)
OutT = TypeVar("OutT", default=Any)


class MapSpec:
    """How a node maps its task over its upstream's sequence."""

    # A slotted plain class, not attrs: an in-memory run does not import attrs (issue 16).
    __slots__ = ("max_concurrency",)

    def __init__(self, max_concurrency: int | None = None) -> None:
        self.max_concurrency = max_concurrency
        """At most this many elements run at once (None: the execution's limit)."""

    def __repr__(self) -> str:
        return f"MapSpec(max_concurrency={self.max_concurrency!r})"


def element_id(node_id: str, index: int) -> str:
    """The id element ``index`` of map node ``node_id`` is attributed to: ``relax[3]``."""
    return f"{node_id}[{index}]"


def inner_id(outer_id: str, task_id: str) -> str:
    """The qualified id of inner task ``task_id`` of sub-workflow node ``outer_id``."""
    return f"{outer_id}.{task_id}"


class SubWorkflow(Task[TaskContext[StateT, DepsT, InT], OutT], Generic[StateT, DepsT, InT, OutT]):
    """A workflow placed as one task inside another.

    Its input is ``inner``'s workflow input (what the inner root tasks receive) and its
    output is ``output``'s value. ``wf.add(SubWorkflow(relax_wf, output=relaxed),
    after=build)`` returns ``Node[Relaxed]``. Its context's state and deps are ``inner``'s
    declared ones: the inner tasks run on the outer execution's state and deps, so the
    checkers (and ``wf.add``, between plain classes) require the outer ones to fit. The
    default node id is the inner workflow's name in snake_case.
    """

    def __init__(self, inner: Workflow[StateT, DepsT, InT], *, output: Node[OutT]) -> None:
        from molexp.workflow.graph import Node, Workflow

        if not isinstance(inner, Workflow):
            raise WorkflowDefinitionError(
                f"SubWorkflow(inner, output=...) takes a Workflow, not {type(inner).__name__}"
            )
        if not isinstance(output, Node) or output not in inner:
            shown = output.id if isinstance(output, Node) else repr(output)
            raise WorkflowDefinitionError(
                f"SubWorkflow({inner.name!r}): output={shown} is not a node of workflow "
                f"{inner.name!r}; pass the Node returned by {inner.name!r}'s wf.add(...)"
            )
        if output.is_actor:
            raise WorkflowDefinitionError(
                f"SubWorkflow({inner.name!r}): output={output.id!r} is an actor; its output "
                "is a stream, pick the task that collects it"
            )
        self.inner: Workflow[StateT, DepsT, InT] = inner
        self.output: Node[OutT] = output
        self._molexp_default_name = _snake(inner.name)
        self._bind_types()

    def _bind_types(self) -> None:
        """Record ``SubWorkflow[inner state, deps, input, output type]`` as this instance's
        parameterization, so the generator and the graph checks see the real types
        (``object`` for a state or deps the inner workflow does not declare)."""
        from molexp.workflow.errors import TypeResolutionError
        from molexp.workflow.introspect import node_output_type

        try:
            produced = node_output_type(self.output)
        except TypeResolutionError:
            return
        inner = self.inner
        state = object if inner.state_type is None else inner.state_type
        deps = object if inner.deps_type is None else inner.deps_type
        given = inner.input_type
        generic: Any = SubWorkflow
        self.__orig_class__ = generic[state, deps, given if given is not None else None, produced]

    async def execute(self, ctx: TaskContext[StateT, DepsT, InT]) -> OutT:
        raise RuntimeError(
            f"SubWorkflow({self.inner.name!r}) runs its inner tasks through the "
            "WorkflowRuntime that executes the outer workflow; it cannot be executed alone"
        )

    def __repr__(self) -> str:
        return f"SubWorkflow({self.inner.name!r}, output={self.output.id!r})"


def _snake(name: str) -> str:
    text = re.sub(r"\W+", "_", name).strip("_").lower() or "sub_workflow"
    return text if text.isidentifier() else f"wf_{text}"
