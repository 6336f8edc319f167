"""The typed model the templates render: one ``ModuleSpec`` per generated file.

Everything here is plain data (attrs, frozen). ``build.py`` fills it from a workflow;
the Jinja templates in ``templates/`` turn it into source. Type expressions are trees
(``molexp_codegen.typeexpr``) whose symbols are already resolved to their local names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from molexp_codegen.typeexpr import TypeNode

__all__ = [
    "Channel",
    "ContextSpec",
    "EdgeKind",
    "EdgeSpec",
    "Field",
    "ImportLine",
    "InputsSpec",
    "ModuleSpec",
    "WorkflowCheck",
]

EdgeKind = Literal["root", "single", "fan_in", "fan_in_edge", "channel"]


@attrs.frozen
class ImportLine:
    """``from module import name [as alias], ...``."""

    module: str
    names: tuple[tuple[str, str | None], ...]
    group: int
    """0 the standard library, 1 everything else (a blank line between groups)."""


@attrs.frozen
class Field:
    """One input slot: fan-in key (or the upstream id of a single upstream) and its type."""

    key: str
    type: TypeNode
    upstream_id: str
    upstream_task: str
    """The upstream task's class name, for docstrings."""
    upstream_actor: bool = False
    """The upstream is an actor: the value is its last yield."""


@attrs.frozen
class Channel:
    """An upstream actor whose ``send``s an actor receives, and its declared send type."""

    upstream_id: str
    upstream_task: str
    type: TypeNode


@attrs.frozen
class InputsSpec:
    """The keyed mapping of a fan-in task (a TypedDict)."""

    name: str
    node_id: str
    fields: tuple[Field, ...]
    functional: bool
    """Some key is a Python keyword, so the class syntax cannot spell it."""


@attrs.frozen
class ContextSpec:
    """One generated ``TaskContext[State, Deps, Input]`` subclass, or for an actor an
    ``ActorContext[State, Deps, Input, MsgIn, SendT]`` subclass generic in what it sends."""

    name: str
    node_id: str
    task_class: str
    workflow: str
    shape: Literal["root", "single", "fan_in"]
    state: TypeNode
    deps: TypeNode
    input: TypeNode
    upstream: tuple[Field, ...]
    """What makes ``ctx.inputs`` (an actor's task upstreams)."""
    inputs: InputsSpec | None
    actor: bool = False
    msg_in: TypeNode | None = None
    """For an actor: what ``receive()`` returns (the union of its channels' send types)."""
    channels: tuple[Channel, ...] = ()
    shared: tuple[str, ...] = ()
    """The nodes of one task class that share this context (empty: one node's own)."""
    extra_names: tuple[str, ...] = ()
    """Other names of this context: a shared context keeps its first node's own name."""
    mapped: bool = False
    """The (first) node is a map (``wf.map``): ``inputs`` is one element."""


@attrs.frozen
class EdgeSpec:
    """One static check function (emitted under ``TYPE_CHECKING``).

    - ``root``: the workflow's State/Deps/input context fits the root task;
    - ``single``: the context fits the task, and the upstream's output still fits its input;
    - ``fan_in``: the whole keyed context fits the fan-in task;
    - ``fan_in_edge``: the upstream's output still fits its key of the mapping;
    - ``channel``: what the upstream actor declares it sends fits what the downstream actor
      declares it receives.

    For an actor the "context fits" part compares state, deps and inputs only (messages
    are the ``channel`` checks' business); an actor upstream's output is its last yield.
    """

    name: str
    kind: EdgeKind
    node_id: str
    task: str
    context: str
    upstream_id: str | None = None
    upstream_task: str | None = None
    key: str | None = None
    actor: bool = False
    upstream_actor: bool = False
    upstream_optional: bool = False
    """The upstream is an actor that may yield nothing: its value is ``Y | None``."""
    returns_none: bool = False
    """The task's ``execute`` returns None: its result is not kept (mypy refuses
    ``_ = None-returning call``; basedpyright warns on an unused non-None result)."""
    index: int | None = None
    """A fan-in into a declared list/tuple: the upstream's position (``ctx.inputs[i]``)."""
    guarded: bool = False
    """A ``NotRequired`` key of a declared TypedDict: checked under ``if key in inputs``."""
    extra: bool = False
    """A graph key the declared TypedDict does not have: the check only reads the key (one
    error naming it), since there is no value type to compare."""
    same_as: tuple[str, ...] = ()
    """Other edges this check stands for: their checks would be the same (the same task
    class, context and upstream class), so one check proves them all."""
    words: str = ""
    """The edge in words, both types named (``molexp check`` prints it under an error)."""
    map: bool = False
    """``single`` into a map node (``wf.map``): each element of the upstream's sequence
    fits the context's input (one element)."""
    upstream_map: bool = False
    """The upstream is a map node: it gives the list of its task's outputs."""
    task_expr: tuple[str, str, str] | None = None
    """A sub-workflow task, built in the check as the user built it: ``(SubWorkflow,
    inner workflow, output node)`` local names; its types then come from the inner module."""
    upstream_expr: tuple[str, str, str] | None = None
    """The same for a sub-workflow upstream."""
    required: tuple[str, ...] | None = None
    """``fan_in`` into a declared TypedDict: its required keys the graph supplies; the check
    builds the TypedDict from them, so a required key the graph lacks is an error."""


@attrs.frozen
class WorkflowCheck:
    """A static check that the workflow object has the types the contexts were made for:
    ``state=``/``make_state=`` (and deps, input) cannot have been inferred as a union."""

    name: str
    workflow: str
    variable: str
    """The workflow's local name in the checks module (imported from its module)."""
    type: TypeNode
    """``Workflow[State, Deps, Input]`` (``object`` for what the workflow does not declare: it accepts the ``Any`` default)."""


@attrs.frozen
class ModuleSpec:
    version: str
    graph_hash: str
    source: str
    """The workflow module, as a path relative to the generated file's folder."""
    workflows: tuple[str, ...]
    stub: bool
    line_length: int
    runtime_typing: tuple[str, ...]
    imports: tuple[ImportLine, ...]
    """What the runtime module imports under ``TYPE_CHECKING``: the types only."""
    type_imports: tuple[ImportLine, ...]
    """What a stub imports: the types, ``TaskContext``, ``TypedDict`` and ``TypeAlias``."""
    check_imports: tuple[ImportLine, ...]
    """What the edge checks module needs besides the contexts (task classes, helpers)."""
    contexts: tuple[ContextSpec, ...]
    edges: tuple[EdgeSpec, ...]
    exports: tuple[str, ...]
    helpers: Mapping[str, str]
    """Local names of the helpers the edge checks use (``Callable``, ``TypeVar``...)."""
    runtime_molexp: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """What the runtime module imports from molexp: ``(module, names)`` in isort order."""
    source_module: str = ""
    """The workflow module's dotted name (the key the runtime finds the fingerprints by)."""
    fingerprints: tuple[tuple[str, str], ...] = ()
    """``(workflow name, wiring fingerprint)``: the runtime refuses a stale module."""
    workflow_checks: tuple[WorkflowCheck, ...] = ()
    needs: frozenset[str] = frozenset()
    """Which check helpers the edge checks use (``expect``, ``output``, ``yields``,
    ``fits``, ``inbox``)."""
