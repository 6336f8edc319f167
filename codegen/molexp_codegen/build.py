"""Workflows -> ``ModuleSpec``: read the graph and the declared types, allocate names.

The graph is the single source of truth for each task's input: a root gets the workflow
input, a single upstream its declared output type, a fan-in a TypedDict keyed like
``after={...}``. An actor's input follows the same rules over its task upstreams; what it
receives is the union of what its upstream actors declare they send (``Never`` without
one); what it sends is its own contract, the type argument of its generic context. Names
are allocated in topological order so adding a task never renames the contexts of existing
ones; imports are aliased when two symbols share a name.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import re
import sys
import typing
from collections.abc import Mapping, Sequence
from typing import Any, get_args

import attrs
import typing_extensions

from molexp._version import __version__
from molexp.workflow.actor import Actor
from molexp.workflow.compose import SubWorkflow
from molexp.workflow.errors import TypeResolutionError
from molexp.workflow.fingerprint import wiring_fingerprint
from molexp.workflow.graph import Node, Workflow
from molexp.workflow.introspect import (
    NOT_DECLARED,
    declared_context_type,
    declared_input_type,
    declared_message_types,
    declared_output_type,
    fan_in_form,
    sequence_element,
    type_bindings,
    type_checking_names,
    type_label,
)
from molexp_codegen.errors import CodegenError, TypeRenderError
from molexp_codegen.model import (
    Channel,
    ContextSpec,
    EdgeSpec,
    Field,
    ImportLine,
    InputsSpec,
    ModuleSpec,
    WorkflowCheck,
)
from molexp_codegen.naming import BUILTIN_NAMES, NameAllocator, pascal, snake
from molexp_codegen.typeexpr import (
    NEVER,
    Builtin,
    Name,
    NoneT,
    Sub,
    Sym,
    TypeNode,
    UnionT,
    canonical,
    convert,
    resolve,
    spell,
    symbols,
)

__all__ = ["DEFAULT_LINE_LENGTH", "build_module", "output_type"]

DEFAULT_LINE_LENGTH = 88

# Names the generated module binds at runtime (or defines) besides the contexts.
_RUNTIME_NAMES = (
    "TYPE_CHECKING",
    "ActorContext",
    "SendT",
    "TaskContext",
    "TypeAlias",
    "TypedDict",
    "annotations",
)
_TASK_CONTEXT = Sym("molexp", "TaskContext")
_ACTOR_CONTEXT = Sym("molexp", "ActorContext")
_SEND_T = Sym("molexp.context", "SendT")
# Imported at runtime by the generated module under these names (never aliased).
_PREBOUND = {_TASK_CONTEXT: "TaskContext", _ACTOR_CONTEXT: "ActorContext", _SEND_T: "SendT"}
_HELPER_NAMES = (
    "_expect",
    "_each",
    "_output",
    "_yields",
    "_last",
    "_param",
    "_fits",
    "_inbox",
    "_sent",
    "_T",
    "_O",
    "_P",
    "_S",
    "_D",
    "_I",
    "_M",
)
# Which symbols each group of check helpers needs (see ``edge_checks`` in macros.jinja):
# ``expect`` an upstream's output fits an input; ``output``/``yields`` read a task's
# output / an actor's yield type; ``fits`` an actor's state/deps/inputs fit its declared
# context; ``inbox`` a channel's send type fits what the downstream actor receives.
_HELPER_SYMBOLS = {
    "AsyncIterator": Sym("collections.abc", "AsyncIterator"),
    "Awaitable": Sym("collections.abc", "Awaitable"),
    "Callable": Sym("collections.abc", "Callable"),
    "Sequence": Sym("collections.abc", "Sequence"),
    "Never": NEVER,
    "TypeVar": Sym("typing", "TypeVar"),
}
_HELPER_NEEDS = {
    "expect": ("Callable", "TypeVar"),
    "elements": ("Callable", "Sequence", "TypeVar"),
    "output": ("Awaitable", "Callable", "TypeVar"),
    "yields": ("AsyncIterator", "Callable", "TypeVar"),
    "last": ("AsyncIterator", "Callable", "TypeVar"),
    "fits": ("Callable", "TypeVar"),
    "inbox": ("Callable", "Never", "TypeVar"),
}
_HELPER_CONTEXTS = {"fits": (_TASK_CONTEXT,), "inbox": (_ACTOR_CONTEXT,)}


def output_type(task: Any, where: str, bindings: Mapping[Any, Any] | None = None) -> Any:
    """The declared output type of ``task``: ``execute``'s return annotation.

    For an actor, the item type of ``run``'s ``AsyncIterator[...]`` (what it yields).
    Falls back to evaluating the return annotation alone when other annotations of
    ``execute`` only resolve under ``TYPE_CHECKING`` (the ``--stubs`` style).
    """
    try:
        return declared_output_type(task, bindings)
    except TypeResolutionError as exc:
        body = _body(task)
        annotation = getattr(body, "__annotations__", {}).get("return")
        if isinstance(annotation, str):
            module = sys.modules.get(body.__module__)
            try:
                returned = eval(annotation, {**body.__globals__, **type_checking_names(module)})
            except Exception as inner:
                raise TypeRenderError(
                    f"{where}: cannot resolve the return annotation {annotation!r} of "
                    f"{type(task).__qualname__}.{body.__name__}: {type(inner).__name__}: {inner}"
                ) from inner
            if isinstance(task, Actor):
                args = get_args(returned)
                return args[0] if args else Any
            return returned
        raise TypeRenderError(f"{where}: {exc}") from exc


def _body(task: Any) -> Any:
    """``execute`` of a task, ``run`` of an actor."""
    return type(task).run if isinstance(task, Actor) else type(task).execute


def _has_return_annotation(task: Any) -> bool:
    return "return" in getattr(_body(task), "__annotations__", {})


@attrs.frozen
class _RawField:
    key: str
    upstream_id: str
    type: TypeNode
    upstream_task: str
    upstream_actor: bool


@attrs.frozen
class _Pending:
    """A node whose names are allocated, waiting for the import aliases to resolve types."""

    node: Node[Any]
    workflow: str
    context: str
    inputs: str | None
    state: TypeNode
    deps: TypeNode
    input: TypeNode
    fields: tuple[_RawField, ...]
    tasks: Mapping[str, TypeNode]
    prefix: str
    msg_in: TypeNode | None
    channels: tuple[_RawField, ...]
    returns_none: bool = False
    carried: str | None = None
    """A fan-in whose input the task declares (``mapping``, ``list``, ``tuple`` or
    ``typeddict``): the context carries that type, checked key by key."""
    required: tuple[str, ...] | None = None
    """For a declared TypedDict: its required keys (None for another input)."""
    optional: frozenset[str] = frozenset()
    """For a declared TypedDict: its ``NotRequired`` keys."""
    owner: bool = True
    """The first node of its context: it writes the context (a shared one is written once)."""
    shared: tuple[str, ...] = ()
    """The nodes of one task class sharing this context (empty: the node's own)."""
    extra_names: tuple[str, ...] = ()
    """Other names of the context (a shared context keeps its first node's name)."""


class _Builder:
    def __init__(self, workflows: Sequence[Workflow[Any, Any, Any]], stub: bool) -> None:
        self.workflows = workflows
        self.stub = stub
        self.names = NameAllocator(reserved=(*_RUNTIME_NAMES, *_HELPER_NAMES))
        self.hash_input: list[Any] = []
        self.warnings: list[str] = []
        self.bindings: dict[str, dict[Any, Any]] = {}
        self.produced: dict[tuple[str, str], Any] = {}
        """What each node gives a task after it (an actor's: ``Y | None``), by workflow."""
        self.sub_workflows: dict[tuple[str, str], tuple[Sym, Sym, Sym]] = {}
        """Per sub-workflow node: (SubWorkflow, inner workflow, output node) symbols, so
        the checks build it as the user did and see the inner module's current types."""
        self.declared_inputs: dict[tuple[str, str], Any] = {}
        """The current workflow's solved type variables of bare generic tasks, by node."""

    def build(self, *, source: str, line_length: int, source_module: str = "") -> ModuleSpec:
        prefixed = len(self.workflows) > 1
        pending: list[_Pending] = []
        used_syms: list[Sym] = []
        doc_syms: list[Sym] = []  # named only in docstrings: allocated, not imported
        check_syms: list[Sym] = []
        needs: set[str] = set()
        workflow_checks: list[tuple[str, Sym, TypeNode]] = []
        # Pass 1: types and generated class names, in topological order.
        for wf in self.workflows:
            where_wf = f"workflow {wf.name!r}"
            state = convert(wf.state_type, f"{where_wf}, state type")
            deps = convert(wf.deps_type, f"{where_wf}, deps type")
            wf_input = convert(wf.input_type, f"{where_wf}, input type")
            prefix = pascal(wf.name) if prefixed else ""
            found = _workflow_symbol(wf)
            if found is not None:
                declared = [
                    Builtin("object") if tp is None else node
                    for tp, node in (
                        (wf.state_type, state),
                        (wf.deps_type, deps),
                        (wf.input_type, wf_input),
                    )
                ]
                wf_type = Sub(_WORKFLOW, tuple(declared))
                workflow_checks.append((wf.name, found, wf_type))
                check_syms += [found, *symbols(wf_type)]
            outputs: dict[str, TypeNode] = {}
            sends: dict[str, TypeNode | None] = {}
            task_syms: dict[str, TypeNode] = {}
            runtime_outputs: dict[str, Any] = {}
            self.bindings = {}
            wf_hash: list[Any] = [wf.name, canonical(state), canonical(deps), canonical(wf_input)]
            for node in wf.nodes:
                kind = "actor" if node.is_actor else "task"
                where = f"{where_wf}, {kind} {node.id!r} ({type(node.task).__qualname__})"
                bindings = _solve_type_vars(node, runtime_outputs, where)
                self.bindings[node.id] = bindings
                self.declared_inputs[(wf.name, node.id)] = _declared_or_none(node, bindings)
                runtime_out, outputs[node.id] = self.node_output(node, where)
                runtime_outputs[node.id] = (
                    typing.Optional[runtime_out]  # noqa: UP045 (any type object, not only a class)
                    if _may_yield_nothing(node)
                    else runtime_out
                )
                self.produced[(wf.name, node.id)] = runtime_outputs[node.id]
                if node.is_actor:
                    sends[node.id] = self.node_sends(node, where)
                task_syms[node.id] = _task_type(node, bindings, where)
                built = _sub_workflow_symbols(node)
                if built is not None:
                    self.sub_workflows[(wf.name, node.id)] = built
                    check_syms += list(built)
            # What a task after a node receives: an actor's last yield, or None when it
            # yielded nothing (unless it declares ``always_yields``).
            received = {
                node.id: _maybe_none(outputs[node.id]) if _may_yield_nothing(node) else out
                for node in wf.nodes
                for out in (outputs[node.id],)
            }
            derived = {
                node.id: self.derive(node, where_wf, wf_input, received, sends) for node in wf.nodes
            }
            shared = _shared_classes(wf, derived, where_wf)
            names_of: dict[Any, tuple[str, str | None]] = {}
            for node in wf.nodes:
                carried, fields, channels, node_input, msg_in = derived[node.id]
                group = _class_key(node)
                owner = True
                extra_names: tuple[str, ...] = ()
                if group in shared and group in names_of:
                    ctx_name, inputs_name = names_of[group]
                    owner = False
                else:
                    base = prefix + pascal(node.id)
                    if group in shared:
                        own = prefix + pascal(_class_name(node))
                        ctx_name = self.names.allocate(own, "Context")
                        if not self.names.taken(base + "Context"):
                            # the first node's own name stays (adding a node renames nothing)
                            extra_names = (self.names.allocate(base, "Context"),)
                        base = own
                    else:
                        ctx_name = self.names.allocate(base, "Context")
                    inputs_name = (
                        self.names.allocate(base, "Inputs")
                        if node.input_shape == "fan_in" and carried is None
                        else None
                    )
                    names_of[group] = (ctx_name, inputs_name)
                if inputs_name is not None:
                    node_input = Name(inputs_name)
                pending.append(
                    _Pending(
                        node=node,
                        workflow=wf.name,
                        context=ctx_name,
                        inputs=inputs_name,
                        state=state,
                        deps=deps,
                        input=node_input,
                        fields=fields,
                        tasks=task_syms,
                        prefix=prefix,
                        msg_in=msg_in,
                        channels=channels,
                        returns_none=isinstance(outputs[node.id], NoneT),
                        carried=None if carried is None else carried[0],
                        required=None if carried is None else carried[2],
                        optional=frozenset() if carried is None else carried[3],
                        owner=owner,
                        shared=shared.get(group, ()),
                        extra_names=extra_names,
                    )
                )
                in_bases = [*symbols(state), *symbols(deps), *symbols(node_input)]
                if msg_in is not None:
                    in_bases += symbols(msg_in)
                used_syms += in_bases
                for field in fields:
                    if carried is None:
                        used_syms += symbols(field.type)
                    else:
                        doc_syms += symbols(field.type)
                for up in node.input_upstream.values():
                    reads = "yields" if up.is_actor else "output"
                    needs.update(("expect", "last" if _may_yield_nothing(up) else reads))
                if node.map is not None:
                    needs.add("elements")
                for channel in channels:
                    used_syms += symbols(channel.type)
                if node.is_actor:
                    needs.add("fits")
                if channels:
                    needs.add("inbox")
                if (wf.name, node.id) not in self.sub_workflows:  # else built, not named
                    check_syms += symbols(task_syms[node.id])
                entry: list[Any] = [
                    node.id,
                    _task_hash_key(task_syms[node.id]),
                    (
                        ("map" if node.map is not None else node.input_shape)
                        if carried is None
                        else f"{node.input_shape}:{carried[0]}"
                    ),
                    [[k, u.id] for k, u in node.input_upstream.items()],
                    canonical(outputs[node.id]),
                ]
                if node.is_actor:
                    entry.append(
                        [
                            "actor" if _may_yield_nothing(node) else "actor:always_yields",
                            _canonical_or_none(sends[node.id]),
                            [[k, u.id] for k, u in node.channel_upstream.items()],
                        ]
                    )
                wf_hash.append(entry)
            self.hash_input.append(wf_hash)
        helper_keys = sorted({key for need in needs for key in _HELPER_NEEDS[need]})
        check_syms += [_HELPER_SYMBOLS[key] for key in helper_keys]
        check_syms += [sym for need in sorted(needs) for sym in _HELPER_CONTEXTS.get(need, ())]
        # Pass 2: local names of imported symbols (aliased on clashes).
        local = self.allocate_imports([*used_syms, *check_syms, *doc_syms])
        # Pass 3: edge check names (after every class name is known).
        edges: list[EdgeSpec] = []
        for item in pending:
            edges += self.node_edges(item, local)
        edges = _merge_identical(edges)
        wf_checks = tuple(
            WorkflowCheck(
                name=self.names.allocate(f"workflow__{snake(name)}"),
                workflow=name,
                variable=spell(resolve(sym, local)),
                type=resolve(wf_type, local),
            )
            for name, sym, wf_type in workflow_checks
        )
        contexts = tuple(self.context_spec(item, local) for item in pending if item.owner)
        actors = any(c.actor for c in contexts)
        # A stub imports TypeAlias/TypedDict/the contexts in the same sorted block as the types.
        stub_syms = [Sym("typing", "TypeAlias")]
        if any(not c.actor for c in contexts):
            stub_syms.append(_TASK_CONTEXT)
        if actors:
            stub_syms += [_ACTOR_CONTEXT, _SEND_T]
        if any(p.inputs is not None for p in pending):
            stub_syms.append(Sym("typing", "TypedDict"))
        stub_local = {**local, **{s: s.qualname for s in stub_syms}}
        type_imports = _import_lines(stub_local, [*stub_syms, *used_syms])
        check_imports = _import_lines(local, check_syms)
        # The runtime module imports the types only: the task classes (which import the
        # contexts) are imported by the edge checks module, so no import cycle.
        all_imports = _import_lines(local, [s for s in used_syms if s not in _PREBOUND])
        exports = sorted(
            [c.name for c in contexts]
            + [name for c in contexts for name in c.extra_names]
            + [c.inputs.name for c in contexts if c.inputs is not None],
            key=dunder_all_key,
        )
        runtime_typing = ["TYPE_CHECKING"] if all_imports else []
        runtime_typing.append("TypeAlias")
        if any(c.inputs is not None for c in contexts):
            runtime_typing.append("TypedDict")
        runtime_molexp: list[tuple[str, tuple[str, ...]]] = [
            ("molexp", ("ActorContext", "TaskContext") if actors else ("TaskContext",))
        ]
        if actors:
            runtime_molexp.append(("molexp.context", ("SendT",)))
        if source_module:
            runtime_molexp.append(("molexp.workflow.fingerprint", ("register_generated",)))
        return ModuleSpec(
            version=__version__,
            graph_hash=_hash(self.hash_input),
            source_module=source_module,
            fingerprints=tuple((wf.name, wiring_fingerprint(wf)) for wf in self.workflows),
            source=source,
            workflows=tuple(wf.name for wf in self.workflows),
            stub=self.stub,
            line_length=line_length,
            runtime_typing=tuple(runtime_typing),
            imports=all_imports,
            type_imports=type_imports,
            check_imports=check_imports,
            contexts=contexts,
            edges=tuple(edges),
            exports=tuple(exports),
            helpers={key: local[_HELPER_SYMBOLS[key]] for key in helper_keys},
            runtime_molexp=tuple(runtime_molexp),
            workflow_checks=wf_checks,
            needs=frozenset(needs),
        )

    def derive(
        self,
        node: Node[Any],
        where_wf: str,
        wf_input: TypeNode,
        outputs: Mapping[str, TypeNode],
        sends: Mapping[str, TypeNode | None],
    ) -> tuple[Any, tuple[_RawField, ...], tuple[_RawField, ...], TypeNode, TypeNode | None]:
        """What the graph gives a node: ``(carried, fields, channels, input, msg_in)``; a
        generated fan-in TypedDict's input is a placeholder until its name is allocated."""
        kind = "actor" if node.is_actor else "task"
        where = f"{where_wf}, {kind} {node.id!r} ({type(node.task).__qualname__})"
        carried = _carried_input(node, self.bindings.get(node.id))
        fields = tuple(
            _RawField(key, up.id, outputs[up.id], type(up.task).__name__, up.is_actor)
            for key, up in node.input_upstream.items()
        )
        channels = tuple(
            _RawField(key, up.id, self.channel_type(up, sends[up.id]), type(up.task).__name__, True)
            for key, up in node.channel_upstream.items()
        )
        node_input: TypeNode
        if node.input_shape == "root":
            node_input = wf_input
        elif node.map is not None:
            node_input = self.map_element(node, where)
        elif node.input_shape == "single":
            node_input = fields[0].type
        elif carried is not None:
            node_input = convert(carried[1], f"{where}, declared input type")
        else:
            node_input = Name("")
        msg_in = _union([c.type for c in channels]) if node.is_actor else None
        return carried, fields, channels, node_input, msg_in

    def map_element(self, node: Node[Any], where: str) -> TypeNode:
        """What one element of a map node receives: the element type of its upstream's
        sequence (``object``, warned, when the upstream declares no element type)."""
        ((_, up),) = node.input_upstream.items()
        produced = self.produced.get((node.workflow.name, up.id), Any)
        element = sequence_element(produced)
        if element is NOT_DECLARED:
            raise CodegenError(
                f"{where}: map edge {up.id} -> {node.id}: {type(up.task).__name__} returns "
                f"{type_label(produced)}, which is not a sequence to map over (declare it to "
                "return list[T] or Sequence[T])"
            )
        if element is None or element is Any:
            warning = (
                f"{where}: map edge {up.id} -> {node.id}: the element type of what "
                f"{up.id!r} returns is not declared; the elements' context receives 'object'"
            )
            if warning not in self.warnings:
                self.warnings.append(warning)
            return Builtin("object")
        return convert(element, f"{where}, map element type")

    def node_sends(self, node: Node[Any], where: str) -> TypeNode | None:
        """What an actor declares it sends (``MonitorContext[Stats]``'s ``Stats``, the last
        argument of an explicit ``ActorContext``); None when it declares nothing (Any)."""
        actor = node.task
        assert isinstance(actor, Actor)
        where = f"{where}, send type"
        try:
            _, sent = declared_message_types(actor)
        except TypeResolutionError as exc:
            raise TypeRenderError(f"{where}: {exc}") from exc
        sent = _evaluate(sent, type(actor), where)
        if sent is Any:
            return None
        return convert(sent, where)

    def channel_type(self, up: Node[Any], sent: TypeNode | None) -> TypeNode:
        """The type a channel from actor ``up`` carries; ``object`` (warned) if undeclared."""
        if sent is not None:
            return sent
        warning = (
            f"actor {up.id!r} ({type(up.task).__qualname__}) declares no send type; the "
            "actors it sends to receive 'object' (declare it: run(self, ctx: "
            "XContext[Message]) or an explicit ActorContext[..., Message])"
        )
        if warning not in self.warnings:
            self.warnings.append(warning)
        return Builtin("object")

    def node_output(self, node: Node[Any], where: str) -> tuple[Any, TypeNode]:
        """The declared output type of a node: ``(runtime type, expression)``."""
        where = f"{where}, output type"
        tp = output_type(node.task, where, self.bindings.get(node.id))
        if tp is Any and not _has_return_annotation(node.task):
            body = _body(node.task).__name__
            self.warnings.append(
                f"{where}: {body}() declares no return type; downstream contexts "
                f"receive 'object' (annotate {body}'s return type)"
            )
            tp = object
        if node.map is not None:
            tp = list[tp]  # type: ignore[valid-type]  # a map gives the list of its outputs
        return tp, convert(tp, where)

    def allocate_imports(self, used: Sequence[Sym]) -> dict[Sym, str]:
        """Local name of each imported top-level symbol; clashing names get aliases."""
        tops = sorted({Sym(s.module, s.top) for s in used}, key=lambda s: (s.qualname, s.module))
        by_name: dict[str, list[Sym]] = {}
        for sym in tops:
            by_name.setdefault(sym.qualname, []).append(sym)
        local: dict[Sym, str] = {}
        clashing: list[Sym] = []
        for sym in tops:
            if sym in _PREBOUND:
                local[sym] = _PREBOUND[sym]
                by_name[sym.qualname].remove(sym)
        for name, group in by_name.items():
            if not group:
                continue
            if len(group) == 1 and not self.names.taken(name) and name not in BUILTIN_NAMES:
                self.names.reserve(name)
                local[group[0]] = name
            else:
                clashing += group
        for sym in clashing:
            last = sym.module.rsplit(".", 1)[-1].strip("_")
            first = f"{last}_{sym.qualname}"
            if self.names.taken(first) or any(
                s is not sym and s.module.rsplit(".", 1)[-1].strip("_") == last
                for s in by_name[sym.qualname]
            ):
                first = f"{sym.module.replace('.', '_').strip('_')}_{sym.qualname}"
            local[sym] = self.names.allocate(first)
        return local

    def context_spec(self, item: _Pending, local: Mapping[Sym, str]) -> ContextSpec:
        node = item.node
        fields = tuple(
            Field(
                key=f.key,
                type=resolve(f.type, local),
                upstream_id=f.upstream_id,
                upstream_task=f.upstream_task,
                upstream_actor=f.upstream_actor,
            )
            for f in item.fields
        )
        inputs = None
        if item.inputs is not None:
            inputs = InputsSpec(
                name=item.inputs,
                node_id=node.id,
                fields=fields,
                functional=any(keyword.iskeyword(f.key) for f in fields),
            )
        return ContextSpec(
            name=item.context,
            node_id=node.id,
            task_class=_class_label(node),
            workflow=item.workflow,
            shape=node.input_shape,
            state=resolve(item.state, local),
            deps=resolve(item.deps, local),
            input=resolve(item.input, local),
            upstream=fields,
            inputs=inputs,
            actor=node.is_actor,
            msg_in=None if item.msg_in is None else resolve(item.msg_in, local),
            channels=tuple(
                Channel(c.upstream_id, c.upstream_task, resolve(c.type, local))
                for c in item.channels
            ),
            shared=item.shared,
            extra_names=item.extra_names,
            mapped=node.map is not None,
        )

    def edge_words(self, item: _Pending, edge: EdgeSpec) -> str:
        """The edge in words, with the two types a broken check is about: what the
        upstream gives and what the task declares it takes (for that key or element)."""
        node = item.node
        task = f"{'actor' if node.is_actor else 'task'} {node.id!r} ({type(node.task).__name__})"
        declared = self.declared_inputs.get((item.workflow, node.id))
        if edge.kind == "root":
            wf = node.workflow
            return (
                f"workflow {item.workflow!r} (state {type_label(wf.state_type)}, deps "
                f"{type_label(wf.deps_type)}, input {type_label(wf.input_type)}) -> {task}, "
                f"which declares {_declared_words(node)}"
            )
        if edge.kind == "fan_in":
            keys = ", ".join(repr(k) for k in node.input_upstream)
            return f"fan-in {keys} -> {task}, which declares {_declared_words(node)}"
        up = node.input_upstream[edge.key or ""]
        gives = type_label(self.produced.get((item.workflow, up.id), Any))
        how = ""
        if up.is_actor:
            how = " (its last yield, or None)" if edge.upstream_optional else " (its last yield)"
        source = f"{up.id!r} ({type(up.task).__name__}) gives {gives}{how}"
        if edge.kind == "single":
            takes = "its generated context" if declared is None else type_label(declared)
            if edge.map:
                return f"map over {source} -> each element to {task}, which takes {takes}"
            return f"{source} -> {task}, which takes {takes}"
        slot = f"[{edge.index}]" if edge.index is not None else f"[{edge.key!r}]"
        takes = _slot_label(declared, edge)
        return f"{source} -> {node.id}{slot} of {task}, which takes {takes}"

    def node_edges(self, item: _Pending, local: Mapping[Sym, str]) -> list[EdgeSpec]:
        node = item.node
        tasks = item.tasks
        prefix = snake(item.prefix) + "__" if item.prefix else ""

        def task_name(node_id: str) -> str:
            return spell(resolve(tasks[node_id], local))

        def construct(node_id: str) -> tuple[str, str, str] | None:
            built = self.sub_workflows.get((item.workflow, node_id))
            if built is None:
                return None
            callee, inner, output = (spell(resolve(s, local)) for s in built)
            return callee, inner, output

        common: dict[str, Any] = {
            "node_id": node.id,
            "task": task_name(node.id),
            "context": item.context,
            "actor": node.is_actor,
            "returns_none": item.returns_none,
            "task_expr": construct(node.id),
        }
        edges: list[EdgeSpec] = []
        if node.input_shape == "root":
            name = self.names.allocate(f"edge__{prefix}input__{node.id}")
            edges.append(EdgeSpec(name=name, kind="root", **common))
        elif node.input_shape == "single":
            ((key, up),) = node.input_upstream.items()
            kind = "map" if node.map is not None else "edge"
            name = self.names.allocate(f"{kind}__{prefix}{up.id}__{node.id}")
            edges.append(
                EdgeSpec(
                    name=name,
                    kind="single",
                    upstream_id=up.id,
                    upstream_task=task_name(up.id),
                    key=key,
                    upstream_actor=up.is_actor,
                    upstream_optional=_may_yield_nothing(up),
                    map=node.map is not None,
                    upstream_map=up.map is not None,
                    upstream_expr=construct(up.id),
                    **common,
                )
            )
        else:
            positional = item.carried in ("list", "tuple")
            for position, (key, up) in enumerate(node.input_upstream.items()):
                name = self.names.allocate(f"edge__{prefix}{up.id}__{node.id}")
                edges.append(
                    EdgeSpec(
                        name=name,
                        kind="fan_in_edge",
                        upstream_id=up.id,
                        upstream_task=task_name(up.id),
                        key=key,
                        upstream_actor=up.is_actor,
                        upstream_optional=_may_yield_nothing(up),
                        upstream_map=up.map is not None,
                        upstream_expr=construct(up.id),
                        index=position if positional else None,
                        guarded=key in item.optional,
                        extra=item.required is not None
                        and key not in item.optional
                        and key not in item.required,
                        **common,
                    )
                )
            name = self.names.allocate(f"fan_in__{prefix}{node.id}")
            required = None
            if item.required is not None:
                required = tuple(k for k in node.input_upstream if k in item.required)
            edges.append(EdgeSpec(name=name, kind="fan_in", required=required, **common))
        edges = [attrs.evolve(e, words=self.edge_words(item, e)) for e in edges]
        for key, up in node.channel_upstream.items():
            name = self.names.allocate(f"channel__{prefix}{up.id}__{node.id}")
            edges.append(
                EdgeSpec(
                    name=name,
                    kind="channel",
                    upstream_id=up.id,
                    upstream_task=task_name(up.id),
                    key=key,
                    upstream_actor=True,
                    **common,
                )
            )
        return edges


def _class_name(node: Node[Any]) -> str:
    """What a shared context is named after: the task class, or for a sub-workflow the
    inner workflow (``RefineContext``, not ``SubWorkflowContext``)."""
    if isinstance(node.task, SubWorkflow):
        return node.task.inner.name
    return type(node.task).__name__


def _class_label(node: Node[Any]) -> str:
    if isinstance(node.task, SubWorkflow):
        return f"SubWorkflow({node.task.inner.name!r})"
    return type(node.task).__name__


def _class_key(node: Node[Any]) -> Any:
    """Nodes of one task class (one parameterization of a generic class) form a group."""
    if isinstance(node.task, SubWorkflow):  # one group per inner workflow and output
        return (SubWorkflow, node.task.inner.name, node.task.output.id)
    return getattr(node.task, "__orig_class__", None) or type(node.task)


def _signature(derived: tuple[Any, ...], node: Node[Any]) -> Any:
    carried, fields, _, node_input, msg_in = derived
    if node.input_shape == "fan_in" and carried is None:
        shown = "{" + ", ".join(f"{f.key}: {canonical(f.type)}" for f in fields) + "}"
    else:
        shown = canonical(node_input)
    received = None if msg_in is None else canonical(msg_in)
    return (node.input_shape, None if carried is None else carried[0], shown, received)


def _shared_classes(
    wf: Workflow[Any, Any, Any],
    derived: Mapping[str, tuple[Any, ...]],
    where_wf: str,
) -> dict[Any, tuple[str, ...]]:
    """Task classes placed on several nodes whose inputs agree: one context each.

    A class whose nodes disagree and that is written against a generated context cannot be
    typed by one context: that is an error naming the nodes and what each receives. A class
    written against an explicit context keeps one context per node (the edge checks
    compare each with what the class declares).
    """
    groups: dict[Any, list[Node[Any]]] = {}
    for node in wf.nodes:
        groups.setdefault(_class_key(node), []).append(node)
    shared: dict[Any, tuple[str, ...]] = {}
    for group, nodes in groups.items():
        if len(nodes) < 2:
            continue
        signatures = {_signature(derived[n.id], n): n for n in nodes}
        if len(signatures) == 1:
            shared[group] = tuple(n.id for n in nodes)
            continue
        if not _declares_generated_context(nodes[0]):
            continue
        cls = type(nodes[0].task).__qualname__
        shown = "; ".join(
            f"{n.id!r} receives {_describe_input(sig)}" for sig, n in signatures.items()
        )
        raise CodegenError(
            f"{where_wf}: task class {cls} is placed on {len(nodes)} nodes whose inputs "
            f"disagree ({shown}), so one generated context cannot type them. Declare a common "
            f"input in {cls}'s context instead of a generated one (e.g. TaskContext[State, "
            "Deps, A | B], or Mapping[str, T] / Sequence[T] for a fan-in), or use one class "
            "per kind of input"
        )
    return shared


def _describe_input(signature: Any) -> str:
    shape, carried, shown, received = signature
    text = shown if shape != "fan_in" or carried is not None else f"a fan-in {shown}"
    text = text if received is None else f"{text} (and messages {received})"
    return re.sub(r"\b[\w.]+:", "", text)  # module-qualified names, shown short


def _declares_generated_context(node: Node[Any]) -> bool:
    from molexp.workflow.introspect import declared_context_type, is_placeholder_context

    try:
        return is_placeholder_context(declared_context_type(node.task))
    except TypeResolutionError:
        return False


def _carried_input(
    node: Node[Any], bindings: Mapping[Any, Any] | None = None
) -> tuple[str, Any, tuple[str, ...] | None, frozenset[str]] | None:
    """A fan-in into a task that declares its input as a homogeneous mapping or sequence,
    or as its own TypedDict: ``(form, declared type, required keys, optional keys)``.
    None when the generator derives the input from the graph (a generated TypedDict)."""
    if node.input_shape != "fan_in":
        return None
    declared = declared_input_type(node.task, bindings)
    if declared is NOT_DECLARED:
        return None
    form = fan_in_form(declared)
    if form is not None:
        return form, declared, None, frozenset()
    origin = typing.get_origin(declared) or declared
    if typing_extensions.is_typeddict(origin):
        required, optional = _typeddict_keys(origin)
        return "typeddict", declared, required, optional
    return None


def _forms(name: str) -> tuple[Any, ...]:
    """``typing_extensions.X`` and, where it exists, ``typing.X`` (one object or two)."""
    found = [getattr(module, name, None) for module in (typing_extensions, typing)]
    return tuple(f for f in dict.fromkeys(found) if f is not None)


_NOT_REQUIRED = _forms("NotRequired")
_REQUIRED = _forms("Required")
_READ_ONLY = _forms("ReadOnly")


def _typeddict_keys(td: Any) -> tuple[tuple[str, ...], frozenset[str]]:
    """``(required keys, NotRequired keys)`` of a TypedDict. ``__required_keys__`` is wrong
    when the class was written under ``from __future__ import annotations`` (the qualifiers
    are strings then), so each key's annotation is read again, evaluated."""
    required = set(getattr(td, "__required_keys__", ()))
    optional = set(getattr(td, "__optional_keys__", ()))
    try:
        hints = typing_extensions.get_type_hints(td, include_extras=True)
    except Exception:
        hints = {}
    for key, hint in hints.items():
        qualifiers = set()
        while typing.get_origin(hint) in (*_NOT_REQUIRED, *_REQUIRED, *_READ_ONLY):
            qualifiers.add(typing.get_origin(hint))
            hint = typing.get_args(hint)[0]
        if qualifiers & set(_NOT_REQUIRED):
            required.discard(key)
            optional.add(key)
        elif qualifiers & set(_REQUIRED):
            optional.discard(key)
            required.add(key)
    return tuple(sorted(required)), frozenset(optional)


def _edge_signature(edge: EdgeSpec) -> tuple[Any, ...] | None:
    """Edges whose checks would be the same text but for the names: the nodes of a shared
    context fed by the same upstream class (a scan's ``build -> relax_i``), or the elements
    of a homogeneous fan-in from one class (``relax_i -> summary[i]``). None: always kept."""
    if edge.kind == "channel" or edge.required is not None or edge.guarded or edge.extra:
        return None
    if edge.kind == "fan_in_edge":
        if edge.index is None:
            return None  # a key of a mapping or TypedDict: each key is named in its check
        return (
            edge.kind,
            edge.context,
            edge.upstream_task,
            edge.upstream_actor,
            edge.upstream_optional,
            edge.upstream_map,
            edge.upstream_expr,
        )
    return (
        edge.kind,
        edge.task,
        edge.context,
        edge.upstream_task,
        edge.upstream_actor,
        edge.upstream_optional,
        edge.map,
        edge.upstream_map,
        edge.task_expr,
        edge.upstream_expr,
    )


def _merge_identical(edges: list[EdgeSpec]) -> list[EdgeSpec]:
    """One check per distinct signature; the first edge's function names the others."""
    first: dict[tuple[Any, ...], int] = {}
    others: dict[int, list[str]] = {}
    kept: list[EdgeSpec] = []
    for edge in edges:
        signature = _edge_signature(edge)
        if signature is not None and signature in first:
            others[first[signature]].append(_edge_words(edge))
            continue
        if signature is not None:
            first[signature] = len(kept)
            others[len(kept)] = []
        kept.append(edge)
    return [
        attrs.evolve(edge, same_as=tuple(others[i])) if others.get(i) else edge
        for i, edge in enumerate(kept)
    ]


def _edge_words(edge: EdgeSpec) -> str:
    target = edge.node_id if edge.index is None else f"{edge.node_id}[{edge.index}]"
    return target if edge.upstream_id is None else f"{edge.upstream_id} -> {target}"


def _union(items: Sequence[TypeNode]) -> TypeNode:
    """``A | B`` of the channels' send types: flattened, deduplicated in channel order,
    ``None`` last; ``Never`` (a sender of nothing) drops out; ``object`` absorbs the rest.
    No channel at all gives ``Never``: ``receive()`` ends the stream at once."""
    flat: list[TypeNode] = []
    for item in items:
        for member in item.items if isinstance(item, UnionT) else (item,):
            if member != NEVER and member not in flat:
                flat.append(member)
    if Builtin("object") in flat:
        return Builtin("object")
    flat.sort(key=lambda n: isinstance(n, NoneT))
    if not flat:
        return NEVER
    return flat[0] if len(flat) == 1 else UnionT(tuple(flat))


def _evaluate(tp: Any, owner: type[Any], where: str) -> Any:
    """A string (or ``ForwardRef``) type argument, evaluated in its class's module."""
    if not isinstance(tp, (str, typing.ForwardRef)):
        return tp
    code = tp if isinstance(tp, str) else tp.__forward_arg__
    namespace = dict(vars(sys.modules[owner.__module__]))
    try:
        return eval(code, namespace)
    except Exception as exc:
        raise TypeRenderError(
            f"{where}: cannot resolve {code!r} in {owner.__module__}: {type(exc).__name__}: {exc}"
        ) from exc


def _canonical_or_none(node: TypeNode | None) -> str | None:
    return None if node is None else canonical(node)


def _declared_or_none(node: Node[Any], bindings: Mapping[Any, Any]) -> Any:
    """The input a task declares (None when it reads it from a generated context)."""
    try:
        declared = declared_input_type(node.task, bindings)
    except TypeResolutionError:
        return None
    return None if declared is NOT_DECLARED else declared


def _declared_words(node: Node[Any]) -> str:
    try:
        context = declared_context_type(node.task)
    except TypeResolutionError:
        return "a context that cannot be read"
    from molexp.workflow.introspect import is_placeholder_context

    if is_placeholder_context(context):
        return "its generated context"
    return type_label(context)


def _slot_label(declared: Any, edge: EdgeSpec) -> str:
    """What a fan-in key or element takes: the declared element or key type."""
    if declared is None:
        return "its generated inputs"
    form = fan_in_form(declared)
    args = get_args(declared)
    if form is not None and args:
        return type_label(args[-1] if form == "mapping" else args[0])
    origin = typing.get_origin(declared) or declared
    if typing_extensions.is_typeddict(origin):
        try:
            hints = typing_extensions.get_type_hints(origin)
        except Exception:
            return type_label(declared)
        if edge.key in hints:
            return type_label(hints[edge.key])
        return f"no key {edge.key!r} ({type_label(declared)})"
    return type_label(declared)


def _may_yield_nothing(node: Node[Any]) -> bool:
    """An actor that does not declare ``always_yields``: a task after it may get None."""
    return node.is_actor and not getattr(type(node.task), "always_yields", False)


def _maybe_none(node: TypeNode) -> TypeNode:
    """``T | None`` (``T`` itself when it already admits None: None, ``object``, ``Any``)."""
    if isinstance(node, NoneT) or node in (Builtin("object"), Sym("typing", "Any")):
        return node
    items = node.items if isinstance(node, UnionT) else (node,)
    if any(isinstance(i, NoneT) for i in items):
        return node
    return UnionT((*items, NoneT()))


_WORKFLOW = Sym("molexp", "Workflow")


def _workflow_symbol(wf: Workflow[Any, Any, Any]) -> Sym | None:
    """The module-level name the workflow is bound to in the module that made it."""
    module = sys.modules.get(wf.module or "")
    if module is None:
        return None
    for name, value in vars(module).items():
        if value is wf and name.isidentifier() and not name.startswith("_"):
            return Sym(module.__name__, name)
    return None


def _sub_workflow_symbols(node: Node[Any]) -> tuple[Sym, Sym, Sym] | None:
    """``(SubWorkflow, inner workflow, output node)`` as importable module-level names,
    when the inner workflow and its output node are bound in the module that made it."""
    task = node.task
    if not isinstance(task, SubWorkflow):
        return None
    inner = _workflow_symbol(task.inner)
    if inner is None:
        return None
    module = sys.modules[inner.module]
    for name, value in vars(module).items():
        if value is task.output and name.isidentifier() and not name.startswith("_"):
            return Sym("molexp", "SubWorkflow"), inner, Sym(module.__name__, name)
    return None


def _task_hash_key(task: TypeNode) -> str:
    if isinstance(task, Sym):
        return f"{task.module}:{task.qualname}"  # as before generic tasks: hashes unchanged
    return canonical(task)


def _task_type(node: Node[Any], bindings: Mapping[Any, Any], where: str) -> TypeNode:
    """The task's type as the edge checks spell it: the class, or for a generic class its
    parameterization (``Identity[int]``: from ``Identity[int]()`` or solved from the graph)."""
    sym = _task_symbol(node, where)
    params = getattr(type(node.task), "__parameters__", ())
    if not params:
        return sym
    env = {**type_bindings(node.task), **bindings}
    if not any(p in env for p in params):
        return sym  # only parameters with defaults (PEP 696), used bare
    return Sub(
        sym,
        tuple(convert(env.get(p, _default(p)), f"{where}, type argument {p}") for p in params),
    )


def _default(var: Any) -> Any:
    default = getattr(var, "__default__", typing_extensions.NoDefault)
    return None if default is typing_extensions.NoDefault else default


def _has_default(var: Any) -> bool:
    return getattr(var, "__default__", typing_extensions.NoDefault) is not (
        typing_extensions.NoDefault
    )


def _solve_type_vars(
    node: Node[Any], upstream_types: Mapping[str, Any], where: str
) -> dict[Any, Any]:
    """The type variables of a generic task class used bare (``Identity()``), solved from
    the graph where that is sound: an input declared as ``T`` after one upstream, or as a
    homogeneous ``Sequence[T]``/``Mapping[str, T]``/``tuple[T, ...]`` whose upstreams all
    declare the same type. Anything else must be parameterized by the user."""
    cls = type(node.task)
    bound = type_bindings(node.task)
    free = [p for p in getattr(cls, "__parameters__", ()) if p not in bound and not _has_default(p)]
    if not free:
        return {}
    solved: dict[Any, Any] = {}
    try:
        context = declared_context_type(node.task)
    except TypeResolutionError:
        context = None
    args = get_args(context)
    pattern = args[2] if len(args) >= 3 else None
    ups = [upstream_types[u.id] for u in node.input_upstream.values()]
    if node.map is not None:
        ups = [sequence_element(u) for u in ups]
    element: Any = None
    if node.input_shape == "single" and isinstance(pattern, typing.TypeVar):
        element = pattern
    elif node.input_shape == "fan_in" and fan_in_form(pattern) is not None:
        element = get_args(pattern)[-1 if fan_in_form(pattern) == "mapping" else 0]
    if isinstance(element, typing.TypeVar) and ups and all(u == ups[0] for u in ups):
        solved[element] = ups[0]
    missing = [p for p in free if p not in solved]
    if missing:
        name = cls.__name__
        shown = ", ".join(getattr(p, "__name__", repr(p)) for p in missing)
        raise CodegenError(
            f"{where}: the generic task class {name} is used without type arguments and "
            f"its type variable{'s' if len(missing) > 1 else ''} {shown} cannot be solved "
            f"from the graph; parameterize it ({name}[X]()) or subclass it "
            f"(class My{name}({name}[X]))"
        )
    return solved


def _task_symbol(node: Node[Any], where: str) -> Sym:
    cls = type(node.task)
    if cls is SubWorkflow:
        return Sym("molexp", "SubWorkflow")  # its public name
    sym = convert(cls, where)
    if not isinstance(sym, Sym):
        # A generic task class expands to Sub(Sym, Any...): the class itself is what we need.
        base = getattr(sym, "base", None)
        if not isinstance(base, Sym):
            raise CodegenError(f"{where}: the task class cannot be imported")
        return base
    return sym


def _import_lines(local: Mapping[Sym, str], used: Sequence[Sym]) -> tuple[ImportLine, ...]:
    """``from m import ...`` statements laid out as ruff's isort does by default: stdlib
    first, then the rest; modules case-insensitively; plain names combined in one
    statement (constants, classes, then the rest), each aliased name in its own."""
    needed = {Sym(s.module, s.top) for s in used}
    by_module: dict[str, list[tuple[str, str | None]]] = {}
    for sym in needed:
        name = local[sym]
        alias = None if name == sym.qualname else name
        by_module.setdefault(sym.module, []).append((sym.qualname, alias))
    lines: list[ImportLine] = []
    for module in sorted(by_module, key=lambda m: (_module_group(m), natural_key(m.lower()))):
        group = _module_group(module)
        names = by_module[module]
        plain = sorted((n for n in names if n[1] is None), key=lambda n: _member_key(n[0]))
        if plain:
            lines.append(ImportLine(module, tuple(plain), group))
        for aliased in sorted(
            (n for n in names if n[1] is not None), key=lambda n: _member_key(n[0])
        ):
            lines.append(ImportLine(module, (aliased,), group))
    return tuple(lines)


def _member_key(name: str) -> tuple[int, tuple[str | int, ...]]:
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return kind, natural_key(name)


def natural_key(text: str) -> tuple[str | int, ...]:
    """``AB2`` < ``AB22`` < ``ABC``: digit runs compare as numbers (ruff's natural order)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _module_group(module: str) -> int:
    """0 for the standard library, 1 for everything else (molexp included)."""
    return 0 if module.split(".", 1)[0] in sys.stdlib_module_names else 1


def dunder_all_key(name: str) -> tuple[int, tuple[str | int, ...]]:
    """The order ruff (RUF022) wants in ``__all__``: SCREAMING_CASE, CamelCase, the rest."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, natural_key(name)


def _hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=False, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def build_module(
    workflows: Sequence[Workflow[Any, Any, Any]],
    *,
    source: str,
    stub: bool = False,
    line_length: int = DEFAULT_LINE_LENGTH,
    source_module: str = "",
) -> tuple[ModuleSpec, list[str]]:
    """The module spec of ``workflows`` and the warnings met while reading them."""
    if not workflows:
        raise CodegenError("no workflow to generate")
    builder = _Builder(workflows, stub)
    spec = builder.build(source=source, line_length=line_length, source_module=source_module)
    return spec, builder.warnings
