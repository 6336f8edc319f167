"""TaskContext: what a task sees while it executes.

A context is created per task execution. It is a typed, read-only view of the shared
state, the injected dependencies, the task's inputs and the selected profile config, plus
the run helpers (artifacts, logs, checkpoints, assets, results).

The run helpers are *soft*: without a run they return None (results fall back to an
in-memory map), so the same task code runs in a quick in-memory iteration and inside a
tracked run. Under a run they delegate to a per-task binding of the run context, so every
asset is attributed to the task whose context wrote it, even when many tasks run at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, Never, overload

from typing_extensions import TypeVar

from molexp.channel import Channel, ChannelClosed
from molexp.profile import ProfileConfig

if TYPE_CHECKING:
    # The workspace layer sits below; it never imports this module.
    from molexp.workspace.assets import Asset, CheckpointAsset
    from molexp.workspace.run_context import (
        ArtifactStore,
        LogHandle,
        RunContext,
        TaskRunBinding,
    )

__all__ = ["ActorContext", "SendT", "TaskContext"]


T = TypeVar("T")

# Covariant with read-only properties: a context for `State` fits a task that asks for
# a Protocol `State` satisfies. Defaults let an untyped `ctx: TaskContext` pass --strict.
StateT = TypeVar("StateT", covariant=True, default=Any)
DepsT = TypeVar("DepsT", covariant=True, default=Any)
InputT = TypeVar("InputT", covariant=True, default=Any)
# receive() produces MsgIn (covariant); send() consumes MsgOut (contravariant).
MsgInT = TypeVar("MsgInT", covariant=True, default=Any)
MsgOutT = TypeVar("MsgOutT", contravariant=True, default=Any)
# The send type parameter of the actor contexts `molexp gen` writes: an actor names what it
# sends where it names its context (`MonitorContext[Stats]`); a bare `MonitorContext`
# sends nothing (`Never`). What an actor sends is its own contract, not the graph's.
SendT = TypeVar("SendT", contravariant=True, default=Never)

_EMPTY_CONFIG = ProfileConfig()


class TaskContext(Generic[StateT, DepsT, InputT]):
    """The typed view of one task execution: ``state``, ``deps``, ``inputs``, ``config``."""

    __slots__ = (
        "_binding",
        "_config",
        "_deps",
        "_inputs",
        "_results",
        "_run_context",
        "_state",
        "_task_id",
        "_workflow",
    )

    def __init__(
        self,
        *,
        state: StateT,
        deps: DepsT,
        inputs: InputT,
        config: ProfileConfig | None = None,
        run_context: RunContext | None = None,
        task_id: str | None = None,
        workflow: str | None = None,
        results: dict[str, Any] | None = None,
    ) -> None:
        self._state = state
        self._deps = deps
        self._inputs = inputs
        self._config = _EMPTY_CONFIG if config is None else config
        self._run_context = run_context
        self._task_id = task_id
        self._workflow = workflow
        self._results: dict[str, Any] = {} if results is None else results
        self._binding: TaskRunBinding | None = None

    # -- the typed view ---------------------------------------------------------------

    @property
    def state(self) -> StateT:
        """Shared mutable state of the execution (the object itself, not a copy)."""
        return self._state

    @property
    def deps(self) -> DepsT:
        """Dependencies injected at execute time (engines, clients, paths)."""
        return self._deps

    @property
    def inputs(self) -> InputT:
        """The upstream's value, a ``{key: value}`` mapping on fan-in, or the workflow input."""
        return self._inputs

    @property
    def config(self) -> ProfileConfig:
        """The selected profile's resolved config; empty (``name is None``) without a profile."""
        return self._config

    @property
    def run_context(self) -> RunContext | None:
        """The RunContext when executing under a run, else None."""
        return self._run_context

    @property
    def task_id(self) -> str | None:
        """The id of the task this context is attributed to."""
        return self._task_id

    def set_active_task(self, task_id: str) -> None:
        """Attribute what this context records from now on to ``task_id``.

        The runtime calls it before a task starts. The attribution lives on this context,
        not on the shared run, so concurrent tasks never see each other's task id.
        """
        self._task_id = task_id
        self._binding = None

    # -- run helpers (soft without a run) ------------------------------------------------

    def _bound(self) -> TaskRunBinding | None:
        if self._run_context is None:
            return None
        if self._binding is None:
            self._binding = self._run_context.bind_task(self._task_id, workflow=self._workflow)
        return self._binding

    def require_run(self) -> TaskRunBinding:
        """The run helpers of this task, for code that only makes sense under a run.

        Unlike the soft helpers, its methods never return None (``require_run().log("md")``
        is a ``LogHandle``); without a run it raises ``RuntimeError`` naming the task.
        """
        binding = self._bound()
        if binding is None:
            raise RuntimeError(
                f"task {self._task_id!r} needs a tracked run (execute with run_context=...); "
                "use the soft helpers (ctx.artifact, ctx.log, ...) to run without one"
            )
        return binding

    @property
    def artifact(self) -> ArtifactStore | None:
        """Under a run, the artifact store (``.save(name, data)``); None without a run."""
        binding = self._bound()
        return None if binding is None else binding.artifact

    def log(self, name: str) -> LogHandle | None:
        """Under a run, the handle of ``logs/<name>.log`` (``.append(line)``); else None."""
        binding = self._bound()
        return None if binding is None else binding.log(name)

    def checkpoint(self, name: str, *, data: Any) -> CheckpointAsset | None:
        """Under a run, write a checkpoint chained to the previous one of ``name``; else None."""
        binding = self._bound()
        return None if binding is None else binding.checkpoint(name, data=data)

    def latest_checkpoint(self, name: str) -> CheckpointAsset | None:
        """Under a run, the newest checkpoint ``name`` of this run (any attempt); else None."""
        binding = self._bound()
        return None if binding is None else binding.latest_checkpoint(name)

    @overload
    def load_checkpoint(self, name: str, default: T, *, as_type: type[T]) -> T: ...
    @overload
    def load_checkpoint(self, name: str, *, as_type: type[T]) -> T | None: ...
    @overload
    def load_checkpoint(self, name: str, default: Any = None) -> Any: ...
    def load_checkpoint(
        self, name: str, default: Any = None, *, as_type: type[Any] | None = None
    ) -> Any:
        """The data of the newest checkpoint ``name`` of this run, else ``default``.

        Resuming is one call: ``start = ctx.load_checkpoint("md", default={"step": 0})``;
        ``as_type=MDState`` structures an attrs/dataclass checkpoint back (typed).
        """
        binding = self._bound()
        if binding is None:
            return default
        return binding.load_checkpoint(name, default, as_type=as_type)

    def find_asset(self, name: str, kind: str | None = None) -> Asset | None:
        """Under a run, the newest asset ``name`` at the nearest scope; else None."""
        binding = self._bound()
        return None if binding is None else binding.find_asset(name, kind=kind)

    def set_result(self, key: str, value: Any) -> None:
        """Record a small result; under a run it is durable when this returns."""
        binding = self._bound()
        if binding is not None:
            binding.set_result(key, value)
        # Mirrored in memory so the WorkflowResult shows what this execution set.
        self._results[key] = value

    def get_result(self, key: str, default: Any = None) -> Any:
        """Read back a result set by any task of this execution (or run)."""
        binding = self._bound()
        if binding is None:
            return self._results.get(key, default)
        return binding.get_result(key, default)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(task_id={self._task_id!r}, "
            f"config={self._config.name!r}, run={self._run_context is not None})"
        )


class ActorContext(
    TaskContext[StateT, DepsT, InputT], Generic[StateT, DepsT, InputT, MsgInT, MsgOutT]
):
    """The context of a streaming actor: a TaskContext plus its channels.

    ``await ctx.receive()`` reads the default input channel (the merged ``send``s of the
    upstream actors) and raises ``ChannelClosed`` once they have all finished;
    ``await ctx.send(msg)`` writes the default output channel (every downstream actor
    receives it), waiting while a downstream buffer is full. The runtime connects the
    channels; a context it did not connect raises ``NotImplementedError``.
    """

    __slots__ = ("_connected", "_inbox", "_outboxes", "_record", "sent")

    def __init__(
        self,
        *,
        state: StateT,
        deps: DepsT,
        inputs: InputT,
        config: ProfileConfig | None = None,
        run_context: RunContext | None = None,
        task_id: str | None = None,
        workflow: str | None = None,
        results: dict[str, Any] | None = None,
        inbox: Channel[Any] | None = None,
        outboxes: tuple[Channel[Any], ...] | None = None,
        record: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(
            state=state,
            deps=deps,
            inputs=inputs,
            config=config,
            run_context=run_context,
            task_id=task_id,
            workflow=workflow,
            results=results,
        )
        self._connected = outboxes is not None
        self._inbox = inbox
        self._outboxes: tuple[Channel[Any], ...] = outboxes or ()
        self._record = record
        self.sent = 0
        """How many messages this actor has sent."""

    def _require_connected(self, what: str) -> None:
        if not self._connected:
            raise NotImplementedError(
                f"{what}() needs channels connected by the workflow runtime; this context of "
                f"task {self._task_id!r} was not created by WorkflowRuntime.execute"
            )

    async def receive(self) -> MsgInT:
        """The next message from the upstream actors; ``ChannelClosed`` at end of stream."""
        if not self._connected:
            self._require_connected("receive")
        inbox = self._inbox
        if inbox is None:
            raise ChannelClosed(f"actor {self._task_id!r} has no upstream actor to receive from")
        message: MsgInT = await inbox.get()
        return message

    async def messages(self) -> AsyncIterator[MsgInT]:
        """``async for msg in ctx.messages()``: every message until the end of stream."""
        self._require_connected("messages")
        inbox = self._inbox
        if inbox is None:
            return
        while True:
            try:
                message: MsgInT = await inbox.get()
            except ChannelClosed:
                return
            yield message

    async def send(self, message: MsgOutT) -> None:
        """Send ``message`` to every downstream actor, waiting while a buffer is full.

        Without downstream actors the message goes nowhere. Once every downstream actor
        has stopped, ``send`` raises ``ChannelClosed``, which ends this actor normally.
        """
        if not self._connected:
            self._require_connected("send")
        outboxes = self._outboxes
        if len(outboxes) == 1:
            outbox = outboxes[0]
            if outbox.abandoned:
                raise self._downstream_gone()
            await outbox.put(message)
        elif outboxes:
            if all(outbox.abandoned for outbox in outboxes):
                raise self._downstream_gone()
            for outbox in outboxes:
                await outbox.put(message)
        if self._record is not None:
            self._record(message)
        self.sent += 1

    def _downstream_gone(self) -> ChannelClosed:
        # Nobody will ever read again: end this producer instead of spinning on drops.
        return ChannelClosed(f"actor {self._task_id!r}: every downstream actor has stopped")
