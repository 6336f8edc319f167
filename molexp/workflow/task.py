"""Task: one typed unit of work in a workflow graph."""

from __future__ import annotations

import abc
import re
from typing import Any, Generic

from typing_extensions import TypeVar

from molexp.context import TaskContext

__all__ = ["Task", "default_task_name"]

# Contravariant in the context it accepts: a task asking for TaskContext[HasPositions, ...]
# accepts any context whose state satisfies the Protocol. Defaults keep `class T(Task)`
# valid under --strict.
ContextT = TypeVar(
    "ContextT",
    bound=TaskContext[Any, Any, Any],
    contravariant=True,
    default=TaskContext[Any, Any, Any],
)
OutputT = TypeVar("OutputT", covariant=True, default=Any)


class Task(abc.ABC, Generic[ContextT, OutputT]):
    """Subclass with ``Task[MyContext, Output]`` and implement ``async def execute``.

    The context type argument names the context the task is written against (an explicit
    ``TaskContext[State, Deps, Input]`` or a generated subclass); ``execute``'s return
    annotation is the task's declared output type, which the generator reads.
    """

    @abc.abstractmethod
    async def execute(self, ctx: ContextT) -> OutputT:
        """Run the task on ``ctx`` and return its output."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def default_task_name(task: object) -> str:
    """The snake_case form of the task's class name: ``TrainModel`` -> ``train_model``
    (a ``SubWorkflow``: its inner workflow's name)."""
    given = getattr(task, "_molexp_default_name", None)
    if isinstance(given, str):
        return given
    return _CAMEL_BOUNDARY.sub("_", type(task).__name__).lower()
