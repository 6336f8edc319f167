"""Read a task's declared types: its context type and its output type.

The generator and ``molexp graph`` use these; the runtime does not need them to run
(except to instantiate a task's own context subclass, which is optional sugar).
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any, get_args, get_origin

from molexp.context import TaskContext
from molexp.workflow.errors import TypeResolutionError
from molexp.workflow.task import Task

__all__ = [
    "declared_context_type",
    "declared_output_type",
    "task_type_arguments",
    "type_label",
]


def task_type_arguments(task_class: type[Any]) -> tuple[Any, ...] | None:
    """The ``(ContextT, OutputT)`` arguments a task class gave ``Task[...]``, if any."""
    for klass in task_class.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Task):
                args = get_args(base)
                if len(args) == 2:
                    return _resolve_forward_refs(args, klass)
    return None


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
                arg = eval(code, dict(namespace))  # noqa: S307 - an annotation of the user's own module
            except Exception as exc:
                raise TypeResolutionError(
                    f"task class {owner.__qualname__}: cannot resolve type argument {code!r} "
                    f"of Task[...]: {exc}"
                ) from exc
        resolved.append(arg)
    return tuple(resolved)


def _execute_hints(task_class: type[Any], what: str) -> dict[str, Any]:
    execute = task_class.execute
    try:
        return typing.get_type_hints(execute, include_extras=True)
    except Exception as exc:
        raise TypeResolutionError(
            f"task class {task_class.__qualname__}: cannot resolve the annotations of "
            f"execute() to read its {what}: {type(exc).__name__}: {exc}"
        ) from exc


def declared_output_type(task: Task[Any, Any]) -> Any:
    """The awaited return annotation of ``execute`` (``Any`` when it has none)."""
    cls = type(task)
    hints = _execute_hints(cls, "output type")
    if "return" in hints:
        return hints["return"]
    args = task_type_arguments(cls)
    return args[1] if args is not None else Any


def declared_context_type(task: Task[Any, Any]) -> Any:
    """The context a task is written against: its ``Task[ContextT, ...]`` argument, else
    the annotation of ``execute``'s context parameter, else ``TaskContext[Any, Any, Any]``.
    """
    cls = type(task)
    args = task_type_arguments(cls)
    if args is not None and not isinstance(args[0], typing.TypeVar):
        return args[0]
    params = list(inspect.signature(cls.execute).parameters.values())
    if len(params) >= 2:
        hints = _execute_hints(cls, "context type")
        if params[1].name in hints:
            return hints[params[1].name]
    return TaskContext[Any, Any, Any]


def context_class(task: Task[Any, Any]) -> type[TaskContext[Any, Any, Any]]:
    """The concrete TaskContext subclass to instantiate for ``task`` (generated or base)."""
    try:
        args = task_type_arguments(type(task))
    except TypeResolutionError:
        return TaskContext
    if args is not None:
        candidate = get_origin(args[0]) or args[0]
        if isinstance(candidate, type) and issubclass(candidate, TaskContext):
            return candidate
    return TaskContext


_QUALIFIED = re.compile(r"\b(?:[A-Za-z_][\w]*\.)+([A-Za-z_]\w*)")


def type_label(node_or_type: Any) -> str:
    """A short human label of a node's output type (or of a type): ``list[Frame]``."""
    from molexp.workflow.graph import Node

    tp = declared_output_type(node_or_type.task) if isinstance(node_or_type, Node) else node_or_type
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    return _QUALIFIED.sub(r"\1", repr(tp).replace("typing.", ""))
