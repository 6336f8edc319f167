from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from molexp import Actor, ActorContext
from molexp.context import SendT

if TYPE_CHECKING:
    from streamed_flow_contexts import CountContext, SquareContext, SumContext
else:  # no generated module at runtime: a stand-in generic in what the actor sends
    CountContext = SquareContext = SumContext = ActorContext[Any, Any, Any, Any, SendT]


class Count(Actor[CountContext[int], int]):
    async def run(self, ctx: CountContext[int]) -> AsyncIterator[int]:
        for i in range(ctx.inputs):
            await ctx.send(i)
        yield ctx.inputs


class Square(Actor[SquareContext[int], int]):
    async def run(self, ctx: SquareContext[int]) -> AsyncIterator[int]:
        async for value in ctx.messages():
            await ctx.send(value * value)
        yield 0


class Sum(Actor[SumContext, int]):
    async def run(self, ctx: SumContext) -> AsyncIterator[int]:
        total = 0
        async for value in ctx.messages():
            total += value
        yield total
