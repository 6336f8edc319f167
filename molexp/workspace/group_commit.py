"""Group commit: one ``fdatasync`` of an append-only file shared by every writer waiting.

A writer appends its bytes (under the file's own lock), notes the file's end with
``written(end)``, lets go of the lock and waits until the bytes before ``end`` are durable:

- ``wait(end)`` blocks a thread. The first waiter that finds no sync in flight runs one;
  the writers that appended meanwhile wait for it or run the next one, which covers all of
  them: N threads saving at once pay about two fsyncs, not N.
- ``await wait_async(end)`` suspends a task. Bookkeeping stays on the event loop (no lock
  on its hot path): the first waiter schedules a sync for the end of the loop's current
  round, so every task that appends in that round joins it; the sync runs on a helper
  thread while the loop runs other tasks, and when it lands the next one covers whatever
  was appended meanwhile. This is how concurrent ``await ctx.artifact.asave(...)`` calls of
  one run share fsyncs.

The promise of a durable append is unchanged: neither call returns before an ``fdatasync``
that started after the append has succeeded. A failed sync raises ``OSError`` in every
waiter it covered (Linux may drop the pages of a failed write-back, so a later sync
proving nothing is not trusted: the error stays until ``close``).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["GroupCommit"]


class _LoopWaiters:
    """The async waiters of one event loop and whether a sync is on its way for them."""

    __slots__ = ("busy", "waiters")

    def __init__(self) -> None:
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.busy = False


class GroupCommit:
    """Shared ``fdatasync`` of ``fd`` (see the module doc). ``sync`` is the call that makes
    the file durable (``os.fdatasync`` by default)."""

    def __init__(self, fd: int, *, sync: Callable[[int], None] | None = None) -> None:
        self._fd = fd
        self._sync = sync
        self._cond = threading.Condition(threading.Lock())
        self._written = 0
        self._synced = 0
        self._syncing = False
        self._error: OSError | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopWaiters] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self.syncs = 0
        """fdatasync calls made so far (what the tests and benchmarks count)."""

    def written(self, end: int) -> None:
        """The file's bytes up to ``end`` are written and wait for a sync."""
        with self._cond:
            if end > self._written:
                self._written = end

    def wait(self, end: int) -> None:
        """Return once the bytes before ``end`` are durable (this thread may run the sync)."""
        with self._cond:
            while self._synced < end:
                self._check()
                if self._syncing:
                    self._cond.wait()
                else:
                    self._sync_locked()
            self._check()

    async def wait_async(self, end: int) -> None:
        """Like ``wait`` without blocking the event loop (see the module doc)."""
        if self._synced >= end and self._error is None:
            return
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopWaiters()
        future: asyncio.Future[None] = loop.create_future()
        state.waiters.append((end, future))
        if not state.busy:
            state.busy = True
            loop.call_soon(self._start, loop, state)  # after this round's appends
        await future

    def close(self) -> None:
        """Let the helper finish and make everything written durable (on this thread).

        A task still waiting then (close called from another thread) is settled all the
        same: its loop waits for the sync in its default executor, not in a new helper.
        """
        with self._cond:  # taken under the lock: ``_start`` never submits to a closed pool
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._cond:
            end = self._written
        self.wait(end)

    # -- inside ------------------------------------------------------------------------------

    def _check(self) -> None:
        if self._error is not None:
            raise _sync_error(self._error)

    def _sync_locked(self) -> None:
        """Run one sync covering everything written so far (the lock is held on entry and
        on return, not during the sync)."""
        target = self._written
        self._syncing = True
        self._cond.release()
        error: OSError | None = None
        try:
            (self._sync or os.fdatasync)(self._fd)
        except OSError as exc:
            error = exc
        finally:
            # Also when the sync raised something else (KeyboardInterrupt): the waiters
            # must wake up and one of them runs the next sync.
            self._cond.acquire()
            self._syncing = False
            self.syncs += 1
            self._cond.notify_all()
        if error is not None:
            self._error = error
        elif target > self._synced:
            self._synced = target

    def _start(self, loop: asyncio.AbstractEventLoop, state: _LoopWaiters) -> None:
        """On the loop: sync (on the helper thread) up to everything written so far."""
        done: Future[None] | None = None
        try:
            with self._cond:
                target = self._written
                if not self._closed:
                    if self._pool is None:
                        self._pool = ThreadPoolExecutor(1, thread_name_prefix="molexp-group-commit")
                    done = self._pool.submit(self.wait, target)
            if done is None:
                # close() let the pool go while this loop's tasks still wait (it was called
                # on another thread): wait for its final sync on the loop's own executor.
                late = loop.run_in_executor(None, self.wait, target)
                late.add_done_callback(lambda f: self._landed(loop, state, f))
                return
        except Exception as exc:  # no thread to sync on: the waiters must not wait forever
            failed: Future[None] = Future()
            failed.set_exception(exc)
            self._landed(loop, state, failed)
            return
        done.add_done_callback(lambda f: self._land_later(loop, state, f))

    def _land_later(
        self, loop: asyncio.AbstractEventLoop, state: _LoopWaiters, done: Future[None]
    ) -> None:
        """On the helper thread: hand the outcome to the loop (unless the loop is closed:
        its waiters went with it, and so does its state here)."""
        try:
            loop.call_soon_threadsafe(self._landed, loop, state, done)
        except RuntimeError:  # the loop was closed while the sync ran
            if self._loops.get(loop) is state:
                self._loops.pop(loop, None)

    def _landed(
        self,
        loop: asyncio.AbstractEventLoop,
        state: _LoopWaiters,
        done: Future[None] | asyncio.Future[None],
    ) -> None:
        """On the loop: settle the waiters the sync covered, start the next for the rest."""
        error = done.exception()
        keep: list[tuple[int, asyncio.Future[None]]] = []
        for end, future in state.waiters:
            if future.done():  # its task was cancelled: the bytes are synced all the same
                continue
            if error is not None:
                future.set_exception(_sync_error(error) if isinstance(error, OSError) else error)
            elif end <= self._synced:
                future.set_result(None)
            else:
                keep.append((end, future))
        state.waiters = keep
        if keep:
            self._start(loop, state)
        else:
            state.busy = False
            if self._loops.get(loop) is state:
                del self._loops[loop]


def _sync_error(error: OSError) -> OSError:
    return OSError(error.errno, f"a durable append could not be synced: {error.strerror}")
