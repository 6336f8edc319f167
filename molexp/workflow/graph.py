"""Workflow and Node: the declared task graph.

Edges are declared with ``after=`` when a task is added, and ``after`` may only name nodes
already in the workflow, so a graph is acyclic by construction and insertion order is a
topological order. The shape of ``after`` fixes the shape of ``ctx.inputs``:

- ``None``                       -> a root: the workflow input
- a ``Node``                     -> that upstream's value itself
- a sequence ``[a, b]``          -> a mapping keyed by the upstream node ids
- a mapping ``{"k": a, ...}``    -> a mapping keyed by the given names

A task that declares a homogeneous input gets that shape instead (the *fan-in form*):
``Sequence[T]``/``list[T]`` a list and ``tuple[T, ...]`` a tuple of the values of
``after=[...]``; ``Mapping[str, T]``/``dict[str, T]`` the mapping above. Values are always
in ``after=`` order.

Actors stream: an edge from an actor to an actor is a *channel* (the downstream's
``receive()`` gets the upstream's ``send``s, and both run at the same time); it does not
feed ``ctx.inputs``. An actor's ``ctx.inputs`` follows the rules above over its other
upstreams, and is the workflow input when only actors are upstream. Any other edge waits
for the upstream to finish; after an actor, a task receives the actor's last yield.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Literal

from typing_extensions import TypeVar

from molexp.profile import ProfileConfig
from molexp.workflow.actor import Actor
from molexp.workflow.compose import MapSpec, SubWorkflow
from molexp.workflow.errors import WorkflowDefinitionError
from molexp.workflow.policy import TaskPolicy, check_policy_options, policy_for
from molexp.workflow.task import Task, default_task_name

__all__ = ["FanInForm", "InputShape", "Node", "Workflow"]

OutputT = TypeVar("OutputT", covariant=True, default=Any)
StateT = TypeVar("StateT", default=Any)
DepsT = TypeVar("DepsT", default=Any)
InputT = TypeVar("InputT", default=Any)
U = TypeVar("U")

InputShape = Literal["root", "single", "fan_in"]
FanInForm = Literal["mapping", "list", "tuple"]


class Node(Generic[OutputT]):
    """A task placed in a workflow. ``Node[T]`` carries the task's output type ``T``."""

    __slots__ = (
        "_executor",
        "_form",
        "_id",
        "_index",
        "_is_actor",
        "_map",
        "_shape",
        "_task",
        "_upstream",
        "_workflow",
    )

    def __init__(
        self,
        workflow: Workflow[Any, Any, Any],
        node_id: str,
        task: Task[Any, OutputT] | Actor[Any, OutputT],
        upstream: Mapping[str, Node[Any]],
        shape: InputShape,
        index: int,
        executor: str | None = None,
        form: FanInForm = "mapping",
        map: MapSpec | None = None,
    ) -> None:
        self._workflow = workflow
        self._map = map
        self._form: FanInForm = form
        self._id = node_id
        self._task = task
        self._upstream = upstream
        self._shape: InputShape = shape
        self._index = index
        self._is_actor = isinstance(task, Actor)
        self._executor = executor

    @property
    def id(self) -> str:
        return self._id

    @property
    def task(self) -> Task[Any, OutputT] | Actor[Any, OutputT]:
        return self._task

    @property
    def is_actor(self) -> bool:
        return self._is_actor

    @property
    def workflow(self) -> Workflow[Any, Any, Any]:
        return self._workflow

    @property
    def upstream(self) -> Mapping[str, Node[Any]]:
        """Upstream nodes by input key (the fan-in key, or the node id of a single upstream)."""
        return self._upstream

    @property
    def channel_upstream(self) -> Mapping[str, Node[Any]]:
        """For an actor: the upstream actors whose ``send``s it receives (else empty)."""
        if not self._is_actor:
            return {}
        return {k: n for k, n in self._upstream.items() if n.is_actor}

    @property
    def input_upstream(self) -> Mapping[str, Node[Any]]:
        """The upstreams whose outputs make ``ctx.inputs`` (all but channel upstreams)."""
        if not self._is_actor:
            return self._upstream
        return {k: n for k, n in self._upstream.items() if not n.is_actor}

    @property
    def input_shape(self) -> InputShape:
        """``root`` (workflow input), ``single`` (the value itself) or ``fan_in`` (a mapping)."""
        return self._shape

    @property
    def fan_in_form(self) -> FanInForm:
        """How a fan-in's values reach ``ctx.inputs``: ``mapping`` (``{key: value}``),
        ``list`` or ``tuple`` (the values in ``after=`` order), from the declared input."""
        return self._form

    @property
    def index(self) -> int:
        """Position in the workflow's topological order."""
        return self._index

    @property
    def map(self) -> MapSpec | None:
        """For a node placed by ``wf.map``: how it maps its task (else None)."""
        return self._map

    @property
    def executor(self) -> str | None:
        """The executor label given to ``wf.add`` (bound by ``execute(executors=...)``)."""
        return self._executor

    def __repr__(self) -> str:
        return f"Node({self._id!r}, task={type(self._task).__name__})"


class Workflow(Generic[StateT, DepsT, InputT]):
    """A named task graph with declared State, Deps and workflow input types."""

    def __init__(
        self,
        name: str,
        *,
        state: type[StateT] | None = None,
        deps: type[DepsT] | None = None,
        input: type[InputT] | None = None,
        make_state: Callable[[ProfileConfig], StateT] | None = None,
        make_deps: Callable[[ProfileConfig], DepsT] | None = None,
        make_input: Callable[[ProfileConfig], InputT] | None = None,
        config: type[Any] | None = None,
    ) -> None:
        """``state``/``deps``/``input`` declare the types (the generator reads them).

        ``config`` declares the profile's shape (an attrs class or dataclass): ``molexp
        run`` and sweeps check the resolved config against it (``config.as_(cls)``) and
        reject unknown ``-s`` keys before any run starts.

        ``make_state``/``make_deps``/``make_input`` build the values from the selected
        profile when ``execute`` is not given them, which is how ``molexp run`` gets them.
        Without ``make_state``, a declared state class is built with no arguments.
        """
        if not isinstance(name, str) or not name:
            raise WorkflowDefinitionError(f"workflow name must be a non-empty string, got {name!r}")
        self.name = name
        self.state_type = state
        self.deps_type = deps
        self.input_type = input
        self.config_type = config
        for label, factory in (
            ("make_state", make_state),
            ("make_deps", make_deps),
            ("make_input", make_input),
        ):
            if factory is not None and not callable(factory):
                raise WorkflowDefinitionError(
                    f"workflow {name!r}: {label} must be a callable taking the ProfileConfig"
                )
        self.make_state = make_state
        self.make_deps = make_deps
        self.make_input = make_input
        caller = sys._getframe(1).f_globals.get("__name__")
        self.module: str | None = caller if isinstance(caller, str) else None
        """The module that created the workflow (``molexp gen`` generates a module's own)."""
        self._nodes: list[Node[Any]] = []
        self._by_id: dict[str, Node[Any]] = {}
        self._declared_types: dict[Any, Any] = {}  # per task class: see edge_misfits
        self._policy_options: dict[str, dict[str, Any]] = {}
        self._class_policies: dict[type[Any], TaskPolicy] = {}  # per class, no wf.add options
        self._has_policies: tuple[int, bool] | None = None  # (nodes, answer): has_policies

    # -- declaration --------------------------------------------------------------------

    def add(
        self,
        task: Task[Any, OutputT] | Actor[Any, OutputT],
        *,
        after: Node[Any] | Sequence[Node[Any]] | Mapping[str, Node[Any]] | None = None,
        name: str | None = None,
        executor: str | None = None,
        retries: int | None = None,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        retry_backoff: float | None = None,
        timeout: float | None = None,
        cache: bool | None = None,
    ) -> Node[OutputT]:
        """Add ``task`` (or an actor) after its upstream nodes; return its typed ``Node``.

        ``executor`` labels where the task should run (``"remote"``, ``"gpu"``, ...); the
        label is bound to an executor at execute time: ``execute(executors={"remote": ...})``.

        ``retries``/``retry_on``/``retry_backoff``/``timeout``/``cache`` override the task
        class's attributes of those names for this node (``molexp.workflow.policy``).
        """
        if isinstance(task, type) and issubclass(task, (Task, Actor)):
            # Checked before naming: a class would be named after its metaclass.
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}: wf.add() got the class {task.__name__}; "
                f"pass an instance: wf.add({task.__name__}())"
            )
        node_id = self._check_name(task, name)
        _check_task(task, node_id, self.name)
        if executor is not None:
            self._check_executor_label(task, node_id, executor)
        if isinstance(task, SubWorkflow):
            self._check_sub_workflow(task, node_id)
        options = check_policy_options(
            {
                "retries": retries,
                "retry_on": retry_on,
                "retry_backoff": retry_backoff,
                "timeout": timeout,
                "cache": cache,
            },
            f"workflow {self.name!r}, task {node_id!r}",
        )
        self._policy(node_id, task, options)  # the class attributes too, before it is added
        upstream, shape = self._resolve_after(after, node_id)
        form: FanInForm = "mapping"
        if shape == "fan_in":
            form = self._fan_in_form(task, node_id, after)
        self._check_edge_types(task, node_id, upstream, shape)
        if isinstance(task, Actor):
            if options:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}, actor {node_id!r}: {sorted(options)[0]}= applies "
                    "to tasks; an actor streams and always runs (drop it)"
                )
            shape = _actor_input_shape(upstream, shape)
            self._check_no_wait_on_producer(node_id, upstream)
            producers = [up.id for up in upstream.values() if up.is_actor]
            twice = sorted({p for p in producers if producers.count(p) > 1})
            if twice:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}, actor {node_id!r}: actor {twice[0]!r} is listed "
                    "twice; its messages would arrive twice on the one input channel"
                )
        node: Node[OutputT] = Node(
            self, node_id, task, upstream, shape, len(self._nodes), executor, form
        )
        self._nodes.append(node)
        self._by_id[node_id] = node
        if options:
            self._policy_options[node_id] = options
        return node

    def map(
        self,
        task: Task[Any, U],
        *,
        over: Node[Sequence[Any]],
        name: str | None = None,
        max_concurrency: int | None = None,
        executor: str | None = None,
    ) -> Node[list[U]]:
        """Run ``task`` once per element of ``over``'s output (a ``Sequence[T]`` known at run
        time); the node's output is the list of their outputs, in input order.

        Each element's context has one ``T`` as its ``inputs`` and is attributed as
        ``<name>[i]``. ``task`` may be a ``SubWorkflow`` (its inner tasks are then
        ``<name>[i].<inner id>``). ``max_concurrency`` bounds the elements running at once;
        ``executor`` labels where the elements run, as for ``wf.add``.
        """
        if isinstance(task, type) and issubclass(task, (Task, Actor)):
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}: wf.map() got the class {task.__name__}; "
                f"pass an instance: wf.map({task.__name__}(), over=...)"
            )
        node_id = self._check_name(task, name)
        where = f"workflow {self.name!r}, map {node_id!r}"
        if isinstance(task, Actor):
            raise WorkflowDefinitionError(
                f"{where}: actors stream and cannot be mapped; map a Task or a SubWorkflow"
            )
        _check_task(task, node_id, self.name)
        if max_concurrency is not None and (
            not isinstance(max_concurrency, int)
            or isinstance(max_concurrency, bool)
            or max_concurrency < 1
        ):
            raise WorkflowDefinitionError(
                f"{where}: max_concurrency must be a positive integer or None, "
                f"got {max_concurrency!r}"
            )
        if executor is not None:
            self._check_executor_label(task, node_id, executor)
        if isinstance(task, SubWorkflow):
            self._check_sub_workflow(task, node_id)
        if not isinstance(over, Node):
            raise WorkflowDefinitionError(
                f"{where}: over={over!r} is not a Node; pass the Node returned by wf.add(...)"
            )
        self._check_member(over, where)
        self._check_map_element(task, node_id, over)
        node: Node[list[U]] = Node(
            self,
            node_id,
            task,  # type: ignore[arg-type]  # the node's output is the list of U
            {over.id: over},
            "single",
            len(self._nodes),
            executor,
            map=MapSpec(max_concurrency=max_concurrency),
        )
        self._nodes.append(node)
        self._by_id[node_id] = node
        return node

    def _check_map_element(self, task: object, node_id: str, over: Node[Any]) -> None:
        """``over`` must give a sequence, and its element type must fit the task's input
        where both are plain classes (the rest is the checkers', on the map edge)."""
        from molexp.workflow.errors import TypeResolutionError
        from molexp.workflow.introspect import (
            NOT_DECLARED,
            declared_input_type,
            fits_nominally,
            node_output_type,
            sequence_element,
            type_label,
        )

        edge = f"workflow {self.name!r}, map edge {over.id} -> {node_id}"
        try:
            produced = node_output_type(over)
        except TypeResolutionError:
            return
        element = sequence_element(produced)
        if element is NOT_DECLARED:
            raise WorkflowDefinitionError(
                f"{edge}: {type(over.task).__name__} returns {type_label(produced)}, which "
                "is not a sequence to map over (declare it to return list[T] or Sequence[T])"
            )
        declared = declared_input_type(task)  # type: ignore[arg-type]
        if element is None or declared is NOT_DECLARED:
            return
        if fits_nominally(element, declared) is False:
            raise WorkflowDefinitionError(
                f"{edge}: the elements of {over.id!r} are {type_label(element)}, which does not "
                f"fit the input {type_label(declared)} that {type(task).__name__} declares"
            )

    def _check_sub_workflow(self, task: SubWorkflow[Any, Any, Any, Any], node_id: str) -> None:
        """The inner workflow runs on the outer state and deps: their types must fit."""
        from molexp.workflow.introspect import fits_nominally, type_label

        inner = task.inner
        if inner is self:
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}, task {node_id!r}: a workflow cannot contain itself"
            )
        for what, outer_type, inner_type in (
            ("state", self.state_type, inner.state_type),
            ("deps", self.deps_type, inner.deps_type),
        ):
            if inner_type is None or inner_type is type(None):
                continue
            if outer_type is None:
                continue  # untyped outer workflow: the checkers have nothing to compare
            if fits_nominally(outer_type, inner_type) is False:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}, sub-workflow {node_id!r}: the outer {what} "
                    f"{type_label(outer_type)} of workflow {self.name!r} does not fit the "
                    f"{what} {type_label(inner_type)} that workflow {inner.name!r} declares; "
                    f"the inner tasks run on the outer {what}"
                )

    def policy(self, node_id: str) -> TaskPolicy:
        """The merged retry/timeout/cache policy of a task (class attributes + wf.add)."""
        node = self._by_id[node_id]
        return self._policy(node_id, node.task, self._policy_options.get(node_id))

    def _policy(self, node_id: str, task: object, options: dict[str, Any] | None) -> TaskPolicy:
        if options:
            return policy_for(node_id, task, options)
        # Read once per class: a 100,000-node scan of one class validates it once.
        found = self._class_policies.get(type(task))
        if found is None:
            found = self._class_policies[type(task)] = policy_for(node_id, task, None)
        return found

    def has_policies(self) -> bool:
        """Whether any node retries or times out (else an execution without a run needs no
        hook around its nodes). Remembered until a node is added (workflows only grow)."""
        known = self._has_policies
        if known is None or known[0] != len(self._nodes):
            found = any(not self.policy(node.id).plain for node in self._nodes)
            known = self._has_policies = (len(self._nodes), found)
        return known[1]

    def _check_edge_types(
        self, task: object, node_id: str, upstream: Mapping[str, Node[Any]], shape: str
    ) -> None:
        """An edge between plain classes that cannot fit fails here, before any codegen or
        run; undecidable edges (Protocols, generics, unions) are left to the checkers."""
        from molexp.workflow.introspect import edge_misfits

        misfits = edge_misfits(task, node_id, upstream, shape, self._declared_types)  # type: ignore[arg-type]
        if misfits:
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}, edge {misfits[0]}"
                + (f" (and {len(misfits) - 1} more)" if len(misfits) > 1 else "")
            )

    def _fan_in_form(self, task: object, node_id: str, after: object) -> FanInForm:
        from molexp.workflow.introspect import declared_input_type, fan_in_form, type_label

        declared = declared_input_type(task)  # type: ignore[arg-type]
        form = fan_in_form(declared)
        if form is None:
            return "mapping"
        if form != "mapping" and isinstance(after, Mapping):
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}, task {node_id!r}: {type(task).__name__} declares its "
                f"input {type_label(declared)}, a list in after= order; pass after=[...] "
                "(the keys of after={...} would be dropped), or declare Mapping[str, T]"
            )
        return form

    def _check_name(self, task: object, name: str | None) -> str:
        node_id = default_task_name(task) if name is None else name
        if not isinstance(node_id, str) or not node_id.isidentifier():
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}: task name {node_id!r} is not a valid Python "
                "identifier; pass name='...' with letters, digits and underscores"
            )
        if node_id in self._by_id:
            hint = "" if name is not None else f" (derived from class {type(task).__name__})"
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}: duplicate task name {node_id!r}{hint}; "
                "pass a unique name='...'"
            )
        return node_id

    def _check_executor_label(self, task: object, node_id: str, label: object) -> None:
        where = f"workflow {self.name!r}, task {node_id!r}"
        if not isinstance(label, str) or not label.isidentifier():
            raise WorkflowDefinitionError(
                f"{where}: executor={label!r} must be a label (a Python identifier, e.g. "
                "'remote'), bound at execute time with executors={'remote': DaskExecutor(...)}"
            )
        if isinstance(task, Actor):
            raise WorkflowDefinitionError(
                f"workflow {self.name!r}, actor {node_id!r}: actors always run locally (they "
                "stream through in-process channels); drop executor=..."
            )

    def _resolve_after(
        self,
        after: object,
        node_id: str,
    ) -> tuple[Mapping[str, Node[Any]], InputShape]:
        where = f"workflow {self.name!r}, task {node_id!r}"
        if after is None:
            return {}, "root"
        if isinstance(after, Node):
            self._check_member(after, where)
            return {after.id: after}, "single"
        if isinstance(after, Mapping):
            items = list(after.items())
            if not items:
                raise WorkflowDefinitionError(f"{where}: after={{}} is an empty fan-in")
            for key, up in items:
                if not isinstance(key, str) or not key.isidentifier():
                    raise WorkflowDefinitionError(
                        f"{where}: fan-in key {key!r} is not a valid Python identifier"
                    )
                self._check_member(up, f"{where}, key {key!r}")
            return dict(items), "fan_in"
        if isinstance(after, (list, tuple)):
            if not after:
                raise WorkflowDefinitionError(f"{where}: after=[] is an empty fan-in")
            upstream: dict[str, Node[Any]] = {}
            for up in after:
                self._check_member(up, where)
                if up.id in upstream:
                    raise WorkflowDefinitionError(
                        f"{where}: upstream {up.id!r} is listed twice in after=[...]"
                    )
                upstream[up.id] = up
            return upstream, "fan_in"
        if isinstance(after, str):
            raise WorkflowDefinitionError(
                f"{where}: after={after!r} is a string; pass the Node returned by wf.add(...)"
            )
        raise WorkflowDefinitionError(
            f"{where}: after must be a Node, a list of Nodes or a {{key: Node}} mapping, "
            f"not {type(after).__name__}"
        )

    def _check_no_wait_on_producer(self, node_id: str, upstream: Mapping[str, Node[Any]]) -> None:
        """Reject an actor that would wait for one of its own producers to finish.

        It would start only after that producer ends, while the producer blocks on the
        actor's full input channel: a deadlock as soon as the stream outgrows the buffer.
        """
        producers = {up.id for up in upstream.values() if up.is_actor}
        if not producers:
            return
        stack = [up for up in upstream.values() if not up.is_actor]
        seen: set[str] = set()
        while stack:
            node = stack.pop()
            for up in node.upstream.values():
                if up.id in producers:
                    raise WorkflowDefinitionError(
                        f"workflow {self.name!r}, actor {node_id!r}: it receives from actor "
                        f"{up.id!r} but also waits for {node.id!r}, which waits for {up.id!r} "
                        f"to finish; {up.id!r} would block on {node_id!r}'s full channel"
                    )
                if up.id not in seen:
                    seen.add(up.id)
                    stack.append(up)

    def _check_member(self, up: object, where: str) -> None:
        if not isinstance(up, Node):
            raise WorkflowDefinitionError(
                f"{where}: upstream {up!r} is not a Node; pass the value returned by wf.add(...)"
            )
        if up.workflow is not self or self._by_id.get(up.id) is not up:
            raise WorkflowDefinitionError(
                f"{where}: upstream {up.id!r} belongs to workflow {up.workflow.name!r}, "
                f"not to {self.name!r}"
            )

    # -- introspection ------------------------------------------------------------------

    @property
    def nodes(self) -> tuple[Node[Any], ...]:
        """All nodes in topological order (the order they were added)."""
        return tuple(self._nodes)

    def node(self, node_id: str) -> Node[Any]:
        try:
            return self._by_id[node_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise KeyError(
                f"workflow {self.name!r} has no task {node_id!r} (tasks: {known})"
            ) from None

    def downstream(self, node: Node[Any]) -> tuple[Node[Any], ...]:
        """The nodes that list ``node`` among their upstreams, in topological order."""
        return tuple(n for n in self._nodes if any(u is node for u in n.upstream.values()))

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Node) and self._by_id.get(item.id) is item

    def __len__(self) -> int:
        return len(self._nodes)

    def to_mermaid(self, *, show_types: bool = False) -> str:
        """The graph as a Mermaid flowchart; fan-in keys label their edges. A map node is
        drawn as ``relax[i]``; a sub-workflow as a subgraph of its inner tasks, whose ids
        are qualified (``relax.minimize``)."""
        lines = ["flowchart TD"]
        self._mermaid(lines, "", "    ", show_types)
        return "\n".join(lines) + "\n"

    def _mermaid(self, lines: list[str], prefix: str, indent: str, show_types: bool) -> None:
        from molexp.workflow.introspect import message_label, type_label

        def ref(node: Node[Any]) -> str:
            return (prefix + node.id).replace("[i]", "_i").replace(".", "__")

        for node in self._nodes:
            task = node.task
            if isinstance(task, SubWorkflow):
                shown = f"{prefix}{node.id}{'[i]' if node.map is not None else ''}"
                lines.append(f'{indent}subgraph {ref(node)}["{shown}: workflow {task.inner.name}"]')
                inner = f"{shown}."  # relax.minimize, or relax[i].minimize for a map
                task.inner._mermaid(lines, inner, indent + "    ", show_types)
                lines.append(f"{indent}end")
            elif node.map is not None:
                lines.append(
                    f'{indent}{ref(node)}[["{prefix}{node.id}[i]<br/>map {type(task).__name__}"]]'
                )
            else:
                lines.append(f'{indent}{ref(node)}["{prefix}{node.id}<br/>{type(task).__name__}"]')
        for node in self._nodes:
            for key, up in node.upstream.items():
                channel = node.is_actor and up.is_actor
                labels = []
                if node.input_shape == "fan_in" and not channel:
                    labels.append(key)
                if node.map is not None:
                    labels.append("each")
                if show_types:
                    labels.append(message_label(up) if channel else type_label(up))
                # Mermaid entity codes keep `A | B` and quotes from ending the label early.
                text = ": ".join(labels).replace("|", "#124;").replace('"', "#quot;")
                label = f"|{text}|" if labels else ""
                arrow = "-.->" if channel else "-->"  # dotted: a stream, not a completion
                lines.append(f"{indent}{ref(up)} {arrow}{label} {ref(node)}")

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, tasks={len(self._nodes)})"


def _actor_input_shape(upstream: Mapping[str, Node[Any]], shape: InputShape) -> InputShape:
    """Channel edges do not feed ``ctx.inputs``: recompute the shape without them."""
    if not any(up.is_actor for up in upstream.values()):
        return shape
    if all(up.is_actor for up in upstream.values()):
        return "root"
    return shape  # a mapping keeps its shape over the remaining (task) keys


def _check_task(task: object, node_id: str, workflow: str) -> None:
    if isinstance(task, Actor):
        if not inspect.isasyncgenfunction(type(task).run):
            raise WorkflowDefinitionError(
                f"workflow {workflow!r}, actor {node_id!r}: {type(task).__name__}.run must be "
                "an async generator ('async def run(self, ctx): ... yield ...')"
            )
        return
    if not isinstance(task, Task):
        raise WorkflowDefinitionError(
            f"workflow {workflow!r}, task {node_id!r}: {task!r} is not a molexp Task or Actor "
            "(subclass molexp.Task and implement async def execute)"
        )
    if not inspect.iscoroutinefunction(type(task).execute):
        raise WorkflowDefinitionError(
            f"workflow {workflow!r}, task {node_id!r}: {type(task).__name__}.execute "
            "must be declared 'async def'"
        )
