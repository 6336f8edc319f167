"""Actor: a streaming task whose ``run`` is an async generator."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from typing import Any, Generic

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
    ``ctx.inputs`` once the actor has finished.
    """

    @abc.abstractmethod
    def run(self, ctx: ContextT) -> AsyncIterator[YieldT]:
        """An async generator: ``async def run(self, ctx): ... yield product``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
