"""Workflows -> ``ModuleSpec``: read the graph and the declared types, allocate names.

The graph is the single source of truth for each task's input: a root gets the workflow
input, a single upstream its declared output type, a fan-in a TypedDict keyed like
``after={...}``. Names are allocated in topological order so adding a task never renames
the contexts of existing ones; imports are aliased when two symbols share a name.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from codegen.errors import CodegenError, TypeRenderError
from codegen.model import ContextSpec, EdgeSpec, Field, ImportLine, InputsSpec, ModuleSpec
from codegen.naming import BUILTIN_NAMES, NameAllocator, pascal, snake
from codegen.typeexpr import (
    Builtin,
    Name,
    Sym,
    TypeNode,
    canonical,
    convert,
    resolve,
    symbols,
)
from molexp._version import __version__
from molexp.workflow.errors import TypeResolutionError
from molexp.workflow.graph import Node, Workflow
from molexp.workflow.introspect import declared_output_type

__all__ = ["DEFAULT_LINE_LENGTH", "build_module", "output_type"]

DEFAULT_LINE_LENGTH = 88

# Names the generated module binds at runtime (or defines) besides the contexts.
_RUNTIME_NAMES = ("TYPE_CHECKING", "TaskContext", "TypedDict", "annotations", "final")
_TASK_CONTEXT = Sym("molexp", "TaskContext")
_HELPER_NAMES = ("_expect", "_output", "_T", "_O")
_HELPER_SYMBOLS = {
    "Awaitable": Sym("collections.abc", "Awaitable"),
    "Callable": Sym("collections.abc", "Callable"),
    "TypeVar": Sym("typing", "TypeVar"),
}


def output_type(task: Any, where: str) -> Any:
    """The declared output type of ``task``: ``execute``'s return annotation.

    Falls back to evaluating the return annotation alone when other annotations of
    ``execute`` only resolve under ``TYPE_CHECKING`` (the ``--stubs`` style).
    """
    try:
        return declared_output_type(task)
    except TypeResolutionError as exc:
        execute = type(task).execute
        annotation = getattr(execute, "__annotations__", {}).get("return")
        if isinstance(annotation, str):
            try:
                return eval(annotation, dict(execute.__globals__))
            except Exception as inner:
                raise TypeRenderError(
                    f"{where}: cannot resolve the return annotation {annotation!r} of "
                    f"{type(task).__qualname__}.execute: {type(inner).__name__}: {inner}"
                ) from inner
        raise TypeRenderError(f"{where}: {exc}") from exc


def _has_return_annotation(task: Any) -> bool:
    execute = type(task).execute
    return "return" in getattr(execute, "__annotations__", {})


@attrs.frozen
class _RawField:
    key: str
    upstream_id: str
    type: TypeNode
    upstream_task: str


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
    tasks: Mapping[str, Sym]
    prefix: str


class _Builder:
    def __init__(self, workflows: Sequence[Workflow[Any, Any, Any]], stub: bool) -> None:
        self.workflows = workflows
        self.stub = stub
        self.names = NameAllocator(reserved=(*_RUNTIME_NAMES, *_HELPER_NAMES))
        self.hash_input: list[Any] = []
        self.warnings: list[str] = []

    def build(self, *, source: str, line_length: int) -> ModuleSpec:
        prefixed = len(self.workflows) > 1
        pending: list[_Pending] = []
        used_syms: list[Sym] = []
        quoted: set[Sym] = set()
        unquoted: set[Sym] = set()
        check_syms: list[Sym] = []
        guarded = any(n.upstream for wf in self.workflows for n in wf.nodes)
        if guarded:
            check_syms += _HELPER_SYMBOLS.values()
        # Pass 1: types and generated class names, in topological order.
        for wf in self.workflows:
            where_wf = f"workflow {wf.name!r}"
            state = convert(wf.state_type, f"{where_wf}, state type")
            deps = convert(wf.deps_type, f"{where_wf}, deps type")
            wf_input = convert(wf.input_type, f"{where_wf}, input type")
            prefix = pascal(wf.name) if prefixed else ""
            outputs: dict[str, TypeNode] = {}
            task_syms: dict[str, Sym] = {}
            wf_hash: list[Any] = [wf.name, canonical(state), canonical(deps), canonical(wf_input)]
            for node in wf.nodes:
                where = f"{where_wf}, task {node.id!r} ({type(node.task).__qualname__})"
                out = self.node_output(node, where)
                outputs[node.id] = out
                task_syms[node.id] = _task_symbol(node, where)
            for node in wf.nodes:
                base = prefix + pascal(node.id)
                ctx_name = self.names.allocate(base, "Context")
                inputs_name = (
                    self.names.allocate(base, "Inputs") if node.input_shape == "fan_in" else None
                )
                fields = tuple(
                    _RawField(key, up.id, outputs[up.id], type(up.task).__name__)
                    for key, up in node.upstream.items()
                )
                if node.input_shape == "root":
                    node_input = wf_input
                elif node.input_shape == "single":
                    node_input = fields[0].type
                else:
                    node_input = Name(inputs_name or "")
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
                    )
                )
                in_bases = [*symbols(state), *symbols(deps), *symbols(node_input)]
                used_syms += in_bases
                quoted.update(Sym(s.module, s.top) for s in in_bases)
                functional = any(keyword.iskeyword(k) for k in node.upstream)
                for field in fields:
                    used_syms += symbols(field.type)
                    if node.input_shape == "fan_in" and not functional:
                        unquoted.update(Sym(s.module, s.top) for s in symbols(field.type))
                check_syms.append(task_syms[node.id])
                wf_hash.append(
                    [
                        node.id,
                        f"{task_syms[node.id].module}:{task_syms[node.id].qualname}",
                        node.input_shape,
                        [[k, u.id] for k, u in node.upstream.items()],
                        canonical(outputs[node.id]),
                    ]
                )
            self.hash_input.append(wf_hash)
        # Pass 2: local names of imported symbols (aliased on clashes).
        local = self.allocate_imports([*used_syms, *check_syms])
        # Pass 3: edge check names (after every class name is known).
        edges: list[EdgeSpec] = []
        for item in pending:
            edges += self.node_edges(item, local)
        contexts = tuple(self.context_spec(item, local) for item in pending)
        # A stub imports TypedDict/final/TaskContext in the same sorted block as the types.
        stub_syms = [_TASK_CONTEXT, Sym("typing", "final")]
        if any(p.inputs is not None for p in pending):
            stub_syms.append(Sym("typing", "TypedDict"))
        stub_local = {**local, **{s: s.qualname for s in stub_syms}}
        type_imports = _import_lines(stub_local, [*stub_syms, *used_syms])
        check_imports = _import_lines(local, check_syms)
        all_imports = _import_lines(local, [*used_syms, *check_syms])
        exports = sorted(
            [c.name for c in contexts] + [c.inputs.name for c in contexts if c.inputs is not None],
            key=dunder_all_key,
        )
        runtime_typing = ["TYPE_CHECKING", "final"]
        if any(c.inputs is not None for c in contexts):
            runtime_typing.insert(1, "TypedDict")
        return ModuleSpec(
            version=__version__,
            graph_hash=_hash(self.hash_input),
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
            quoted_only=bool(quoted - unquoted),
            helpers={key: local[sym] for key, sym in _HELPER_SYMBOLS.items() if guarded},
        )

    def node_output(self, node: Node[Any], where: str) -> TypeNode:
        where = f"{where}, output type"
        tp = output_type(node.task, where)
        if tp is Any and not _has_return_annotation(node.task):
            self.warnings.append(
                f"{where}: execute() declares no return type; downstream contexts "
                "receive 'object' (annotate execute's return type)"
            )
            return Builtin("object")
        return convert(tp, where)

    def allocate_imports(self, used: Sequence[Sym]) -> dict[Sym, str]:
        """Local name of each imported top-level symbol; clashing names get aliases."""
        tops = sorted({Sym(s.module, s.top) for s in used}, key=lambda s: (s.qualname, s.module))
        by_name: dict[str, list[Sym]] = {}
        for sym in tops:
            by_name.setdefault(sym.qualname, []).append(sym)
        local: dict[Sym, str] = {}
        clashing: list[Sym] = []
        for name, group in by_name.items():
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
            task_class=type(node.task).__name__,
            workflow=item.workflow,
            shape=node.input_shape,
            state=resolve(item.state, local),
            deps=resolve(item.deps, local),
            input=resolve(item.input, local),
            upstream=fields,
            inputs=inputs,
        )

    def node_edges(self, item: _Pending, local: Mapping[Sym, str]) -> list[EdgeSpec]:
        node = item.node
        tasks = item.tasks
        prefix = snake(item.prefix) + "__" if item.prefix else ""

        def task_name(node_id: str) -> str:
            name = resolve(tasks[node_id], local)
            assert isinstance(name, Name)
            return name.text

        common = {"node_id": node.id, "task": task_name(node.id), "context": item.context}
        if node.input_shape == "root":
            name = self.names.allocate(f"edge__{prefix}input__{node.id}")
            return [EdgeSpec(name=name, kind="root", **common)]
        if node.input_shape == "single":
            ((key, up),) = node.upstream.items()
            name = self.names.allocate(f"edge__{prefix}{up.id}__{node.id}")
            return [
                EdgeSpec(
                    name=name,
                    kind="single",
                    upstream_id=up.id,
                    upstream_task=task_name(up.id),
                    key=key,
                    **common,
                )
            ]
        edges = []
        for key, up in node.upstream.items():
            name = self.names.allocate(f"edge__{prefix}{up.id}__{node.id}")
            edges.append(
                EdgeSpec(
                    name=name,
                    kind="fan_in_edge",
                    upstream_id=up.id,
                    upstream_task=task_name(up.id),
                    key=key,
                    **common,
                )
            )
        name = self.names.allocate(f"fan_in__{prefix}{node.id}")
        edges.append(EdgeSpec(name=name, kind="fan_in", **common))
        return edges


def _task_symbol(node: Node[Any], where: str) -> Sym:
    cls = type(node.task)
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
) -> tuple[ModuleSpec, list[str]]:
    """The module spec of ``workflows`` and the warnings met while reading them."""
    if not workflows:
        raise CodegenError("no workflow to generate")
    builder = _Builder(workflows, stub)
    spec = builder.build(source=source, line_length=line_length)
    return spec, builder.warnings
