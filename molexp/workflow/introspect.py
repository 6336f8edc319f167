"""Read a task's declared types: its context type and its output type.

The generator and ``molexp graph`` use these; the runtime does not need them to run
(except to instantiate a task's own context subclass, which is optional sugar).
"""

from __future__ import annotations

import ast
import collections.abc
import importlib.util
import inspect
import re
import types
import typing
from typing import Any, get_args, get_origin

import typing_extensions

from molexp.context import ActorContext, TaskContext
from molexp.workflow.actor import Actor
from molexp.workflow.errors import TypeResolutionError
from molexp.workflow.graph import FanInForm
from molexp.workflow.task import Task

AnyTask = Task[Any, Any] | Actor[Any, Any]
_ASYNC_ITERATORS = {
    collections.abc.AsyncIterator,
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterable,
}

__all__ = [
    "NOT_DECLARED",
    "FanInForm",
    "declared_context_type",
    "declared_input_type",
    "declared_message_types",
    "declared_output_type",
    "fan_in_form",
    "free_type_vars",
    "is_placeholder_context",
    "message_label",
    "node_output_type",
    "sequence_element",
    "substitute",
    "task_type_arguments",
    "type_bindings",
    "type_checking_names",
    "type_label",
]


def task_type_arguments(
    task_class: type[Any], bindings: typing.Mapping[Any, Any] | None = None
) -> tuple[Any, ...] | None:
    """The ``(ContextT, OutputT)`` arguments ``Task[...]``/``Actor[...]`` receives, seen from
    ``task_class``: the type variables of a generic task are replaced by what a subclass
    (``class IntIdentity(Identity[int])``) or ``bindings`` (the parameters of
    ``Identity[int]()``, see ``type_bindings``) give them; unbound ones stay type variables."""
    envs = _class_environments(task_class, dict(bindings or {}))
    for root in (Task, Actor):
        env = envs.get(root)
        if env is not None and len(env) == 2:
            return tuple(env[p] for p in getattr(root, "__parameters__", ()))
    return None


def type_bindings(task: object) -> dict[Any, Any]:
    """What the parameters of a generic task class are bound to on this instance: the
    arguments of ``Identity[int]()`` (its ``__orig_class__``); empty otherwise."""
    orig = getattr(task, "__orig_class__", None)
    origin = get_origin(orig)
    if not isinstance(origin, type):
        return {}
    return dict(zip(getattr(origin, "__parameters__", ()), get_args(orig), strict=False))


def substitute(tp: Any, env: typing.Mapping[Any, Any]) -> Any:
    """``tp`` with its type variables replaced by their bindings in ``env``."""
    if not env:
        return tp
    if isinstance(tp, typing.TypeVar):
        return env.get(tp, tp)
    params = getattr(tp, "__parameters__", None)
    if isinstance(tp, type) or not isinstance(params, tuple) or not params:
        return tp
    if not any(p in env for p in params):
        return tp
    try:
        return tp[tuple(env.get(p, p) for p in params)]
    except TypeError:
        return tp


def free_type_vars(tp: Any) -> tuple[Any, ...]:
    """The type variables ``tp`` still mentions."""
    if isinstance(tp, typing.TypeVar):
        return (tp,)
    params = getattr(tp, "__parameters__", None)
    if isinstance(tp, type) or not isinstance(params, tuple):
        return ()
    return tuple(p for p in params if isinstance(p, typing.TypeVar))


_SKIPPED_BASES = (typing.Generic, typing.Protocol)


def _class_environments(
    task_class: type[Any], bindings: dict[Any, Any]
) -> dict[type[Any], dict[Any, Any]]:
    """For each class of the hierarchy, what its own type parameters are bound to, as seen
    from ``task_class`` (bound by ``bindings``): ``{Identity: {T: int}, Task: {...}}``."""
    envs: dict[type[Any], dict[Any, Any]] = {}

    def visit(klass: type[Any], env: dict[Any, Any]) -> None:
        if klass in envs:
            return
        envs[klass] = env
        orig = klass.__dict__.get("__orig_bases__")
        for base in orig if orig is not None else klass.__bases__:
            origin = get_origin(base)
            if origin is None:
                if isinstance(base, type) and base is not object:
                    visit(base, {})
                continue
            if not isinstance(origin, type) or origin in _SKIPPED_BASES:
                continue
            args = _resolve_forward_refs(get_args(base), klass)
            params = getattr(origin, "__parameters__", ())
            visit(origin, {p: substitute(a, env) for p, a in zip(params, args, strict=False)})

    visit(task_class, bindings)
    return envs


def _body_environment(task: AnyTask, bindings: typing.Mapping[Any, Any] | None) -> dict[Any, Any]:
    """The type-variable bindings of the class that defines ``execute``/``run``."""
    cls = type(task)
    name = "run" if isinstance(task, Actor) else "execute"
    envs = _class_environments(cls, {**type_bindings(task), **(bindings or {})})
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return envs.get(klass, {})
    return {}


def _resolve_forward_refs(args: tuple[Any, ...], owner: type[Any]) -> tuple[Any, ...]:
    if not any(isinstance(a, (str, typing.ForwardRef)) for a in args):
        return args
    module = inspect.getmodule(owner)
    namespace = vars(module) if module is not None else {}
    resolved = []
    for arg in args:
        if isinstance(arg, (str, typing.ForwardRef)):
            code = arg if isinstance(arg, str) else arg.__forward_arg__
            try:
                arg = eval(code, {**namespace, **type_checking_names(module)})
            except Exception as exc:
                raise TypeResolutionError(
                    f"task class {owner.__qualname__}: cannot resolve type argument {code!r} "
                    f"of Task[...]: {exc}"
                ) from exc
        resolved.append(arg)
    return tuple(resolved)


_TYPE_CHECKING_NAMES: dict[str, dict[str, Any]] = {}


UNRESOLVED = "__molexp_unresolved__"
"""The attribute that marks a stand-in for a name whose ``TYPE_CHECKING`` import fails."""

_STAND_INS: dict[tuple[str, str], type[Any]] = {}


def unresolved_name(module: str, name: str) -> type[Any]:
    """A stand-in class for ``from module import name`` when that import fails at run time
    (a stub-only module, a type from a package the checkers see but this interpreter
    lacks): the generator writes the same import and name from it, and the run-time checks
    treat it as undecidable. One stand-in per name, so equal names compare equal."""
    key = (module, name)
    if key not in _STAND_INS:

        def subscript(cls: type[Any], args: Any) -> Any:
            return types.GenericAlias(cls, args)

        _STAND_INS[key] = type(
            name,
            (),
            {
                "__module__": module,
                "__qualname__": name,
                UNRESOLVED: f"{module}.{name}",
                "__class_getitem__": classmethod(subscript),
                "__doc__": f"{module}.{name}, imported only under TYPE_CHECKING (not importable)",
            },
        )
    return _STAND_INS[key]


def _stand_ins(stmt: ast.Import | ast.ImportFrom, package: str | None) -> dict[str, Any]:
    """Stand-ins for the names a failed ``TYPE_CHECKING`` import statement binds: each
    ``from m import X [as Y]``; ``import m as Y`` (its attributes, ``Y.X``)."""
    if isinstance(stmt, ast.ImportFrom):
        base = stmt.module or ""
        if stmt.level:
            try:
                base = importlib.util.resolve_name("." * stmt.level + base, package)
            except (ImportError, ValueError):
                return {}
        return {
            alias.asname or alias.name: unresolved_name(base, alias.name)
            for alias in stmt.names
            if alias.name != "*"
        }
    return {alias.asname: _UnresolvedModule(alias.name) for alias in stmt.names if alias.asname}


class _UnresolvedModule:
    """``import m as Y`` that failed: ``Y.X`` is the stand-in of ``m.X``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> type[Any]:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return unresolved_name(self._name, attr)


def type_checking_names(module: Any) -> dict[str, Any]:
    """The names a module imports only under ``if TYPE_CHECKING:``, imported now (each
    import statement on its own). The names of one that fails get stand-ins (see
    ``unresolved_name``), so the annotation is still read, from the import's source text.
    Cached per module."""
    name = getattr(module, "__name__", None)
    if not isinstance(name, str):
        return {}
    if name in _TYPE_CHECKING_NAMES:
        return _TYPE_CHECKING_NAMES[name]
    names: dict[str, Any] = {}
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for stmt in node.body:
            if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            scope: dict[str, Any] = {"__name__": name, "__package__": module.__package__}
            try:
                exec(compile(ast.Module(body=[stmt], type_ignores=[]), name, "exec"), scope)
            except Exception:
                names.update(_stand_ins(stmt, module.__package__))
                continue
            names.update({k: v for k, v in scope.items() if not k.startswith("__")})
    _TYPE_CHECKING_NAMES[name] = names
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _body(task_class: type[Any]) -> Any:
    """``execute`` of a task, ``run`` of an actor."""
    return task_class.run if issubclass(task_class, Actor) else task_class.execute


def _execute_hints(task_class: type[Any], what: str) -> dict[str, Any]:
    body = _body(task_class)
    try:
        return typing.get_type_hints(body, include_extras=True)
    except NameError as first:
        # A name imported only under ``if TYPE_CHECKING:`` (a normal style with
        # ``from __future__ import annotations``): evaluate with those imports too.
        extra = type_checking_names(inspect.getmodule(body))
        try:
            return typing.get_type_hints(body, localns=extra, include_extras=True)
        except Exception as exc:
            raise TypeResolutionError(
                f"task class {task_class.__qualname__}: cannot resolve the annotations of "
                f"{body.__name__}() to read its {what}: {type(exc).__name__}: {exc}"
            ) from first
    except Exception as exc:
        raise TypeResolutionError(
            f"task class {task_class.__qualname__}: cannot resolve the annotations of "
            f"{body.__name__}() to read its {what}: {type(exc).__name__}: {exc}"
        ) from exc


def declared_output_type(task: AnyTask, bindings: typing.Mapping[Any, Any] | None = None) -> Any:
    """The awaited return annotation of ``execute`` (``Any`` when it has none); for an
    actor, the item type of ``run``'s ``AsyncIterator[...]`` annotation (what it yields).
    A generic task's type variables are replaced by what its parameterization
    (``Identity[int]()``), a subclass (``class IntIdentity(Identity[int])``) or
    ``bindings`` give them.
    """
    cls = type(task)
    hints = _execute_hints(cls, "output type")
    full = {**type_bindings(task), **(bindings or {})}
    if "return" in hints:
        returned = substitute(hints["return"], _body_environment(task, bindings))
        if isinstance(task, Actor):
            if get_origin(returned) in _ASYNC_ITERATORS and get_args(returned):
                return get_args(returned)[0]
            args = task_type_arguments(cls, full)
            return args[1] if args is not None else Any
        return returned
    args = task_type_arguments(cls, full)
    return args[1] if args is not None else Any


def node_output_type(
    node: Any,
    bindings: typing.Mapping[Any, Any] | None = None,
    memo: dict[Any, Any] | None = None,
) -> Any:
    """What a node gives the tasks after it: its task's declared output, or for a map node
    (``wf.map``) the list of its element task's outputs. ``memo``: see ``edge_misfits``."""
    if bindings is None:
        produced = _memoized(memo, "output", node.task, declared_output_type)
    else:
        produced = declared_output_type(node.task, bindings)
    if getattr(node, "map", None) is not None:
        return list[produced]  # type: ignore[valid-type]
    return produced


_NOT_A_SEQUENCE = (str, bytes, bytearray, memoryview)


def sequence_element(tp: Any) -> Any:
    """The element type ``T`` of a declared ``Sequence[T]``/``list[T]``/``tuple[T, ...]``
    (``Any`` for a bare one); ``NOT_DECLARED`` when ``tp`` is not a sequence type that a
    map could iterate, None when it cannot be decided (Any, a type variable, a string)."""
    if tp is Any or isinstance(tp, (str, typing.ForwardRef, typing.TypeVar)):
        return None
    origin = get_origin(tp) or tp
    if origin is typing.Annotated:
        return sequence_element(get_args(tp)[0])
    args = get_args(tp)
    if origin is tuple:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else NOT_DECLARED
    if isinstance(origin, type):
        if issubclass(origin, _NOT_A_SEQUENCE):
            return NOT_DECLARED
        if issubclass(origin, collections.abc.Sequence):
            return args[0] if args else Any
        if _plain_class(origin):
            return NOT_DECLARED
    return None


def declared_context_type(task: AnyTask, bindings: typing.Mapping[Any, Any] | None = None) -> Any:
    """The context a task is written against: its ``Task[ContextT, ...]`` argument, else
    the annotation of ``execute``'s context parameter, else ``TaskContext[Any, Any, Any]``.
    A generic task's type variables are bound as in ``declared_output_type``.
    """
    cls = type(task)
    args = task_type_arguments(cls, {**type_bindings(task), **(bindings or {})})
    if args is not None and not isinstance(args[0], typing.TypeVar):
        return args[0]
    params = list(inspect.signature(_body(cls)).parameters.values())
    if len(params) >= 2:
        hints = _execute_hints(cls, "context type")
        if params[1].name in hints:
            return substitute(hints[params[1].name], _body_environment(task, bindings))
    if isinstance(task, Actor):
        return ActorContext[Any, Any, Any, Any, Any]
    return TaskContext[Any, Any, Any]


class _NotDeclared:
    """What ``declared_input_type`` returns when the input cannot be read at runtime."""

    def __repr__(self) -> str:
        return "NOT_DECLARED"


NOT_DECLARED: Any = _NotDeclared()


_SEQUENCES = {list, collections.abc.Sequence, collections.abc.MutableSequence}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def is_placeholder_context(context: Any) -> bool:
    """The context stands in for a generated one while ``molexp gen`` imports the module."""
    origin = get_origin(context) or context
    return getattr(origin, "__molexp_placeholder__", None) is not None


def declared_input_type(task: AnyTask, bindings: typing.Mapping[Any, Any] | None = None) -> Any:
    """The input type a task declares: the third argument of its ``TaskContext[S, D, I]``
    (an explicit one or a generated alias of one). ``NOT_DECLARED`` when it cannot be read
    at runtime: no context argument, a type variable, a quoted name, a placeholder."""
    try:
        context = declared_context_type(task, bindings)
    except TypeResolutionError:
        return NOT_DECLARED
    origin = get_origin(context)
    if not (isinstance(origin, type) and issubclass(origin, TaskContext)):
        return NOT_DECLARED
    if is_placeholder_context(context):
        return NOT_DECLARED
    args = get_args(context)
    if len(args) < 3:
        return NOT_DECLARED
    declared = args[2]
    if isinstance(declared, (str, typing.ForwardRef, typing.TypeVar)):
        return NOT_DECLARED
    return declared


def fan_in_form(declared: Any) -> FanInForm | None:
    """The homogeneous fan-in a declared input asks for: ``Mapping[str, T]``/``dict[str, T]``
    (``mapping``), ``Sequence[T]``/``list[T]`` (``list``), ``tuple[T, ...]`` (``tuple``);
    None for anything else (a TypedDict, a single value, an unknown type)."""
    origin = get_origin(declared) or declared
    if origin is typing.Annotated:
        return fan_in_form(get_args(declared)[0])
    args = get_args(declared)
    if origin in _SEQUENCES:
        return "list"
    if origin is tuple:
        return "tuple" if len(args) == 2 and args[1] is Ellipsis else None
    if origin in _MAPPINGS:
        return "mapping"
    return None


def declared_message_types(actor: Actor[Any, Any]) -> tuple[Any, Any]:
    """``(MsgIn, MsgOut)`` of an actor's declared ``ActorContext[S, D, I, MsgIn, MsgOut]``.

    The declared context may also be a subclass (a generated ``MonitorContext[Stats]``) or
    a generic alias (``ActorContext[Any, Any, Any, Any, SendT]``, the runtime stand-in of a
    stub-only context): type parameters are replaced by the arguments given, or by their
    defaults when used bare (``SendT`` defaults to ``Never``: a bare generated context sends
    nothing). ``(Any, Any)`` when the actor declares no actor context.
    """
    context = declared_context_type(actor)
    origin = get_origin(context) or context
    args = get_args(context)
    if origin is ActorContext:
        if len(args) != 5:
            return Any, Any
        # A runtime stand-in ``ActorContext[Any, Any, Any, Any, SendT]`` used bare.
        msg_in, msg_out = (
            _type_var_default(a) if isinstance(a, typing.TypeVar) else a for a in args[3:]
        )
        return msg_in, msg_out
    if not (isinstance(origin, type) and issubclass(origin, ActorContext)):
        return Any, Any
    params = getattr(origin, "__parameters__", ())
    values = {p: args[i] if i < len(args) else _type_var_default(p) for i, p in enumerate(params)}
    for klass in origin.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            base_args = get_args(base)
            if get_origin(base) is ActorContext and len(base_args) == 5:
                msg_in, msg_out = (
                    values.get(a, Any) if isinstance(a, typing.TypeVar) else a
                    for a in base_args[3:]
                )
                return msg_in, msg_out
    return Any, Any


def _type_var_default(var: Any) -> Any:
    """A PEP 696 default (``typing_extensions.TypeVar(..., default=...)``), else ``Any``."""
    default = getattr(var, "__default__", typing_extensions.NoDefault)
    return Any if default is typing_extensions.NoDefault else default


def context_class(task: AnyTask) -> type[TaskContext[Any, Any, Any]]:
    """The concrete context class to instantiate for ``task`` (generated or base)."""
    base: type[TaskContext[Any, Any, Any]] = (
        ActorContext if isinstance(task, Actor) else TaskContext
    )
    try:
        args = task_type_arguments(type(task))
    except TypeResolutionError:
        return base
    if args is not None:
        candidate = get_origin(args[0]) or args[0]
        if isinstance(candidate, type) and issubclass(candidate, base):
            return candidate
    return base


_QUALIFIED = re.compile(r"\b(?:[A-Za-z_][\w]*\.)+([A-Za-z_]\w*)")


def type_label(node_or_type: Any) -> str:
    """A short human label of a node's output type (or of a type): ``list[Frame]``."""
    from molexp.workflow.graph import Node

    tp = node_output_type(node_or_type) if isinstance(node_or_type, Node) else node_or_type
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    return _QUALIFIED.sub(r"\1", repr(tp).replace("typing.", ""))


def message_label(node: Any) -> str:
    """A short label of what an actor node sends on its channel."""
    _, sends = declared_message_types(node.task)
    return type_label(sends)


# Numeric promotions type checkers apply (PEP 484): an int fits a float, both a complex.
_PROMOTIONS = {float: (int,), complex: (int, float)}


def _plain_class(tp: Any) -> bool:
    """A class whose instances a checker compares nominally, like ``issubclass`` does: no
    type arguments, not a Protocol, not ``object`` (everything fits it), not a TypedDict."""
    if not isinstance(tp, type) or get_origin(tp) is not None or tp is object:
        return False
    if tp is Any or tp is typing_extensions.Any:  # a class on Python >= 3.11
        return False
    if getattr(tp, UNRESOLVED, None) is not None:
        return False  # what it stands for is unknown here
    if getattr(tp, "__parameters__", ()):
        return False  # a generic class used bare: its arguments are unknown
    if getattr(tp, "_is_protocol", False) or typing_extensions.is_typeddict(tp):
        return False
    return True


def fits_nominally(produced: Any, declared: Any) -> bool | None:
    """Whether a value declared as ``produced`` fits an input declared as ``declared``:
    True/False where both are plain classes, None where this cannot be decided at run
    time (Protocols, generics, unions, ``Any``, type variables, forward references)."""
    if not (_plain_class(produced) and _plain_class(declared)):
        return None
    if issubclass(produced, declared):
        return True
    return produced in _PROMOTIONS.get(declared, ())


def _unqualified(tp: Any) -> Any:
    """A TypedDict item type without ``ReadOnly``/``NotRequired``/``Required``."""
    qualifiers = {
        q
        for name in ("ReadOnly", "NotRequired", "Required")
        for q in (getattr(typing_extensions, name, None), getattr(typing, name, None))
        if q is not None
    }
    while get_origin(tp) in qualifiers:
        tp = get_args(tp)[0]
    return tp


def _memoized(
    memo: dict[Any, Any] | None, what: str, task: AnyTask, read: typing.Callable[[AnyTask], Any]
) -> Any:
    """``read(task)``, remembered in ``memo`` per task class and parameterization (what the
    declared types depend on), so a scan of 100,000 nodes of one class reads them once.
    A ``TypeResolutionError`` is remembered and raised again, like the value."""
    if memo is None:
        return read(task)
    key = (what, type(task), getattr(task, "__orig_class__", None))
    try:
        found = memo.get(key, memo)
    except TypeError:  # an unhashable parameterization: not remembered
        return read(task)
    if found is memo:
        try:
            found = read(task)
        except TypeResolutionError as exc:
            found = exc
        memo[key] = found
    if isinstance(found, TypeResolutionError):
        raise found
    return found


def _fits(memo: dict[Any, Any] | None, produced: Any, expected: Any) -> bool | None:
    """``fits_nominally``, remembered in ``memo`` per pair of types."""
    if memo is None:
        return fits_nominally(produced, expected)
    key = ("fits", produced, expected)
    try:
        found: bool | None = memo[key]
    except KeyError:
        found = memo[key] = fits_nominally(produced, expected)
    except TypeError:  # unhashable types: not remembered
        found = fits_nominally(produced, expected)
    return found


def edge_misfits(
    task: AnyTask,
    node_id: str,
    upstream: typing.Mapping[str, Any],
    shape: str,
    memo: dict[Any, Any] | None = None,
) -> list[str]:
    """The edges into ``task`` whose declared types cannot fit, decided between plain
    classes only (see ``fits_nominally``), described in words (upstream, key, downstream,
    both types). Nothing is reported where the types are not both plain classes.
    ``memo`` (one per workflow) remembers the declared types of each task class."""
    if shape not in ("single", "fan_in") or isinstance(task, Actor):
        return []
    declared = _memoized(memo, "input", task, declared_input_type)
    if declared is NOT_DECLARED:
        return []
    slots: dict[str, Any] = {}
    if shape == "single":
        slots = {key: declared for key in upstream}
    else:
        form = fan_in_form(declared)
        origin = get_origin(declared) or declared
        if form is not None:
            args = get_args(declared)
            if args:
                element = args[-1] if form == "mapping" else args[0]
                slots = {key: element for key in upstream}
        elif typing_extensions.is_typeddict(origin):
            try:
                hints = typing_extensions.get_type_hints(origin, include_extras=True)
            except Exception:
                return []
            slots = {key: _unqualified(hints[key]) for key in upstream if key in hints}
    found: list[str] = []
    for key, node in upstream.items():
        if key not in slots:
            continue
        try:
            produced = node_output_type(node, memo=memo)
        except TypeResolutionError:
            continue
        if _fits(memo, produced, slots[key]) is False:
            target = f"{node_id}[{key!r}]" if shape == "fan_in" else node_id
            found.append(
                f"{node.id} -> {target}: {type(node.task).__qualname__} "
                f"{'yields' if node.is_actor else 'returns'} {type_label(produced)}, which does "
                f"not fit the input {type_label(slots[key])} that {type(task).__qualname__} "
                "declares"
            )
    return found
