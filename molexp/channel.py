"""Channel: the bounded, many-producer, one-consumer queue between streaming actors.

End of stream is a state, not a message: the channel knows how many producers are
connected, and once every one of them has closed and the buffer is drained, ``get``
raises ``ChannelClosed``. A consumer that stops early *abandons* its channel, so that
producers never block forever on a reader that is gone (their later messages are dropped
and counted).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

__all__ = ["Channel", "ChannelClosed"]

T = TypeVar("T")
_WAKE: Any = object()  # wakes a consumer blocked on an empty buffer when the last producer closes


class ChannelClosed(Exception):
    """Raised by ``receive()`` once every upstream actor has finished and nothing is left.

    The runtime treats it escaping ``Actor.run`` as normal completion, so the seed's
    ``while True: msg = await ctx.receive()`` loop ends cleanly.
    """


class Channel(Generic[T]):
    __slots__ = ("_abandoned", "_open", "_queue", "dropped", "name")

    def __init__(self, name: str, *, capacity: int, producers: int) -> None:
        if capacity < 1:
            raise ValueError(f"channel {name!r}: capacity must be >= 1, got {capacity}")
        self.name = name
        self._queue: asyncio.Queue[Any] = asyncio.Queue(capacity)
        self._open = producers
        self._abandoned = False
        self.dropped = 0

    @property
    def closed(self) -> bool:
        """True once every producer has closed (messages may still be buffered)."""
        return self._open == 0

    @property
    def abandoned(self) -> bool:
        """True once the consumer has stopped reading."""
        return self._abandoned

    async def put(self, message: T) -> None:
        """Wait for room (backpressure), then enqueue; drop if the consumer is gone."""
        if self._abandoned:
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(message)  # fast path: no coroutine when there is room
            return
        except asyncio.QueueFull:
            pass
        await self._queue.put(message)
        if self._abandoned:  # woken by the consumer's drain: keep the chain of putters moving
            self._drain()

    async def get(self) -> T:
        queue = self._queue
        while True:
            try:
                message = queue.get_nowait()  # fast path: no coroutine when a message waits
            except asyncio.QueueEmpty:
                if self._open == 0:
                    raise ChannelClosed(
                        f"channel {self.name!r} is closed: every upstream finished"
                    ) from None
                message = await queue.get()
            if message is not _WAKE:
                result: T = message
                return result

    def close_producer(self) -> None:
        """One producer finished. Never blocks (the end of stream is counted, not queued)."""
        if self._open == 0:
            raise RuntimeError(f"channel {self.name!r}: more producers closed than connected")
        self._open -= 1
        if self._open == 0 and self._queue.empty():
            self._queue.put_nowait(_WAKE)

    def abandon(self) -> None:
        """The consumer stopped: release blocked producers and drop what comes later."""
        self._abandoned = True
        self._drain()

    def _drain(self) -> None:
        while not self._queue.empty():
            if self._queue.get_nowait() is not _WAKE:
                self.dropped += 1
