"""Static-only negative actor cases: each pinned error must occur."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs

from molexp import Actor, ActorContext


@attrs.frozen
class Frame:
    step: int


class Sampler(Actor[ActorContext[None, None, None, None, Frame], int]):
    async def run(self, ctx: ActorContext[None, None, None, None, Frame]) -> AsyncIterator[int]:
        await ctx.send("not a frame")  # type: ignore[arg-type]
        yield "not an int"  # type: ignore[misc]


class Monitor(Actor[ActorContext[None, None, None, Frame, None], None]):
    async def run(self, ctx: ActorContext[None, None, None, Frame, None]) -> AsyncIterator[None]:
        frame = await ctx.receive()
        frame.energy  # type: ignore[attr-defined]
        yield None


async def wrong_channel(monitor: Monitor, ctx: ActorContext[None, None, None, str, None]) -> None:
    async for _ in monitor.run(ctx):  # type: ignore[arg-type]
        pass
