"""Actor: a streaming task whose ``run`` is an async generator."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Generic

from typing_extensions import TypeVar

from molexp.context import ActorContext

__all__ = ["Actor"]

ContextT = TypeVar(
    "ContextT",
    bound=ActorContext[Any, Any, Any, Any, Any],
    contravariant=True,
    default=ActorContext[Any, Any, Any, Any, Any],
)
YieldT = TypeVar("YieldT", covariant=True, default=Any)


class Actor(abc.ABC, Generic[ContextT, YieldT]):
    """Subclass with ``Actor[MyActorContext, Product]`` and implement ``async def run``.

    ``run`` receives from upstream actors (``await ctx.receive()``), sends to downstream
    actors (``await ctx.send(msg)``) and ``yield``s its products. The runtime counts the
    yields; a plain task downstream of an actor gets its *last* yielded value as
    ``ctx.inputs`` once the actor has finished, or None when it yielded nothing: the
    generated context of that task receives ``YieldT | None``, unless the actor declares
    ``always_yields = True`` (the runtime then fails the actor if it yields nothing).
    """

    always_yields: ClassVar[bool] = False
    """The actor yields at least once: tasks after it receive ``YieldT``, not
    ``YieldT | None``. The runtime enforces it: finishing without a yield fails the actor
    with ``ActorYieldError`` naming it."""

    record_messages: str | None = None
    """Under a tracked run, append every message this actor sends, as one JSON line, to
    the log asset of this name (``logs/<name>.log``). None (the default) records nothing."""

    @abc.abstractmethod
    def run(self, ctx: ContextT) -> AsyncIterator[YieldT]:
        """An async generator: ``async def run(self, ctx): ... yield product``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
