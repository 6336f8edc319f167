"""A task call packed for another process, run there, and its outcome applied here.

Engine-neutral (it needs ``cloudpickle``, not Dask): ``pack`` on the driver, ``run_packed``
on the worker (a plain function an engine submits), ``finish`` back on the driver.

What travels: the task object, its inputs, deps, state snapshot, config, the execution's
result map (read-only there) and, under a run, a ``RunTicket``. On the worker the task runs
on a private event loop with a *staging* run context: its artifact, checkpoint and log files
are written into the run folder (the filesystem must be shared), and their records come
back with the outcome, with the results it set and, when asked, a description of what it
changed in ``ctx.state``. ``finish`` registers the records through the driver's run context
(the single writer of the manifest and the catalog), merges the results, then returns the
output or raises the task's exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import threading
import traceback as _traceback
import warnings
from collections.abc import Coroutine, Mapping
from typing import Any, Literal

import attrs
import cloudpickle

from molexp.codecs import registry as codec_registry
from molexp.context import TaskContext
from molexp.executors.errors import (
    RemoteTaskError,
    StateMutationError,
    StateMutationWarning,
    TaskNotPicklable,
)
from molexp.profile import ProfileConfig
from molexp.runtime.executor import TaskCall
from molexp.workspace.staging import RunTicket, StagedRecords

__all__ = ["MutationPolicy", "RemoteOutcome", "RemoteTask", "finish", "pack", "run_packed"]

MutationPolicy = Literal["error", "warn", "ignore"]
_PROTOCOL = 5


@attrs.frozen
class RemoteTask:
    """Everything a worker needs to run one task (pickled by ``pack``)."""

    task_id: str
    workflow: str
    task: Any
    context_class: type[TaskContext[Any, Any, Any]]
    state: Any
    deps: Any
    inputs: Any
    config: ProfileConfig
    results: dict[str, Any]
    ticket: RunTicket | None
    check_state: bool
    codecs: tuple[codec_registry.Codec, ...] = ()
    """The codecs registered in the driver, registered on the worker before the task runs
    (so a codec registered in a driver script works on workers)."""


@attrs.frozen
class RemoteOutcome:
    """What came back from the worker (pickled by ``run_packed``)."""

    task_id: str
    where: str
    """``host pid N`` of the worker process."""
    output: Any = None
    error: bytes | None = None
    """The task's exception, pickled on its own (it may not unpickle here)."""
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    results: dict[str, Any] = attrs.field(factory=dict)
    """Results the task set (without a run; under a run they are in ``staged``)."""
    staged: StagedRecords | None = None
    state_changes: str | None = None
    """What the task changed in its snapshot of ``ctx.state`` (None: nothing, or unchecked)."""


# -- driver: pack ------------------------------------------------------------------------------


def pack(call: TaskCall, *, check_state: bool, engine: str) -> bytes:
    """Pickle ``call`` for a worker; ``TaskNotPicklable`` names the task and the culprit."""
    rc = call.run_context
    spec = RemoteTask(
        task_id=call.task_id,
        workflow=call.workflow,
        task=call.task,
        context_class=call.context_class,
        state=call.state,
        deps=call.deps,
        inputs=call.inputs,
        config=call.config,
        results=dict(call.results),
        ticket=None if rc is None else rc.ticket(),
        check_state=check_state and call.state is not None,
        codecs=tuple(codec_registry.registered()),
    )
    try:
        blob: bytes = cloudpickle.dumps(spec, protocol=_PROTOCOL)
    except Exception as exc:
        raise _not_picklable(call, engine, exc) from exc
    return blob


def _not_picklable(call: TaskCall, engine: str, exc: Exception) -> TaskNotPicklable:
    parts: tuple[tuple[str, Any], ...] = (
        ("task object", call.task),
        ("inputs", call.inputs),
        ("deps", call.deps),
        ("state", call.state),
        ("config", call.config),
        ("results map", call.results),
        ("context class", call.context_class),
    )
    for part, value in parts:
        try:
            cloudpickle.dumps(value, protocol=_PROTOCOL)
        except Exception as inner:
            exc = inner
            what = f"its {part} ({_type_name(value)})"
            break
    else:
        what = "its call"
    return TaskNotPicklable(
        f"task {call.task_id!r} cannot run on {engine}: {what} cannot be pickled: "
        f"{type(exc).__name__}: {exc}. A remote task's object, inputs, deps and state travel "
        "to the worker; keep live handles (open files, locks, connections, engines) out of "
        "them (build them inside execute), or run this task locally"
    )


def _type_name(value: Any) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


# -- worker: run -------------------------------------------------------------------------------


def run_packed(task_id: str, blob: bytes) -> bytes:
    """Run a packed task in this (worker) process; never raises, the outcome says it all."""
    where = f"{socket.gethostname()} pid {os.getpid()}"
    try:
        spec: RemoteTask = cloudpickle.loads(blob)
    except BaseException as exc:
        outcome = _failed(task_id, where, exc, prefix="could not be unpickled on the worker: ")
        return _dump_outcome(outcome)
    return _dump_outcome(_execute(spec, where))


class _Results(dict[str, Any]):
    """The result map a remote context mirrors into; remembers what the task set."""

    def __init__(self, base: Mapping[str, Any]) -> None:
        super().__init__(base)
        self.changed: dict[str, Any] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed[key] = value


def _execute(spec: RemoteTask, where: str) -> RemoteOutcome:
    try:
        for codec in spec.codecs:
            codec_registry.register(codec, replace=True)
        rc = None if spec.ticket is None else spec.ticket.open()
    except BaseException as exc:
        return _failed(spec.task_id, where, exc)
    results = _Results(spec.results)
    before = _snapshot(spec.state) if spec.check_state else None
    output: Any = None
    failure: BaseException | None = None
    try:
        ctx = spec.context_class(
            state=spec.state,
            deps=spec.deps,
            inputs=spec.inputs,
            config=spec.config,
            run_context=rc,
            task_id=spec.task_id,
            workflow=spec.workflow,
            results=results,
        )
        output = _run_coroutine(spec.task.execute(ctx))
    except BaseException as exc:
        failure = exc
    staged = None
    if rc is not None:
        try:
            staged = rc.take_staged()
        except BaseException as exc:
            failure = failure or exc
    changes = None if before is None else _changes(before, spec.state)
    base = RemoteOutcome(
        task_id=spec.task_id,
        where=where,
        output=output,
        results=dict(results.changed) if rc is None else {},
        staged=staged,
        state_changes=changes,
    )
    if failure is not None:
        failed = _failed(spec.task_id, where, failure)
        base = attrs.evolve(
            base,
            output=None,
            error=failed.error,
            error_type=failed.error_type,
            error_message=failed.error_message,
            traceback=failed.traceback,
        )
    return base


def _failed(task_id: str, where: str, exc: BaseException, prefix: str = "") -> RemoteOutcome:
    try:
        blob: bytes | None = cloudpickle.dumps(exc, protocol=_PROTOCOL)
    except Exception:
        blob = None
    return RemoteOutcome(
        task_id=task_id,
        where=where,
        error=blob,
        error_type=_type_name(exc),
        error_message=prefix + str(exc),
        traceback=_format(exc),
    )


def _format(exc: BaseException) -> str:
    """The traceback from the task's own frames (this module's and asyncio's are noise)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename != __file__ and f"{os.sep}asyncio{os.sep}" not in filename:
            break
        tb = tb.tb_next
    return "".join(_traceback.format_exception(type(exc), exc, tb))


def _dumps(value: Any) -> bytes:
    blob: bytes = cloudpickle.dumps(value, protocol=_PROTOCOL)
    return blob


def _dump_outcome(outcome: RemoteOutcome) -> bytes:
    try:
        return _dumps(outcome)
    except Exception:
        pass
    # Something in it does not pickle: name it in an error instead.
    checks: tuple[tuple[str, Any], ...] = (
        ("output", outcome.output),
        *((f"result {key!r}", value) for key, value in outcome.results.items()),
    )
    for what, value in checks:
        try:
            cloudpickle.dumps(value, protocol=_PROTOCOL)
        except Exception as exc:
            error = TaskNotPicklable(
                f"task {outcome.task_id!r}: its {what} ({_type_name(value)}) cannot be pickled "
                f"back from the worker: {type(exc).__name__}: {exc}"
            )
            failed = _failed(outcome.task_id, outcome.where, error)
            outcome = attrs.evolve(
                outcome,
                output=None,
                results={},
                error=failed.error,
                error_type=failed.error_type,
                error_message=failed.error_message,
                traceback=outcome.traceback or failed.traceback,
            )
            break
    return _dumps(outcome)


_LOCAL = threading.local()


def _run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a task body to completion on this thread's private event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # called on a thread that runs a loop already: use a helper thread
        box: list[Any] = []

        def helper() -> None:
            try:
                box.append((True, asyncio.run(coro)))
            except BaseException as exc:
                box.append((False, exc))

        thread = threading.Thread(target=helper, name="molexp-remote-task")
        thread.start()
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value
    loop: asyncio.AbstractEventLoop | None = getattr(_LOCAL, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOCAL.loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        leftover = asyncio.all_tasks(loop)
        if leftover:  # tasks the body started and did not await: do not let them leak
            for task in leftover:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))


def _snapshot(state: Any) -> bytes | None:
    try:
        return _dumps(state)
    except Exception:
        return None


def _changes(before: bytes, state: Any) -> str | None:
    """``ctx.state.a, ctx.state.b`` (or ``ctx.state``) when the state's pickle changed."""
    after = _snapshot(state)
    if after == before:
        return None
    try:
        original = cloudpickle.loads(before)
    except Exception:
        return "ctx.state"
    names: list[str] = []
    if attrs.has(type(state)):
        names = [f.name for f in attrs.fields(type(state))]
    elif dataclasses.is_dataclass(state) and not isinstance(state, type):
        names = [f.name for f in dataclasses.fields(state)]
    elif isinstance(state, dict) and isinstance(original, dict):
        keys = list(dict.fromkeys([*original, *state]))
        changed = [
            k
            for k in keys
            if _snapshot(original.get(k, _MISSING)) != _snapshot(state.get(k, _MISSING))
        ]
        return ", ".join(f"ctx.state[{k!r}]" for k in changed) or "ctx.state"
    changed = [
        name
        for name in names
        if _snapshot(getattr(original, name, None)) != _snapshot(getattr(state, name, None))
    ]
    return ", ".join(f"ctx.state.{name}" for name in changed) or "ctx.state"


class _Missing:
    def __reduce__(self) -> str:
        return "_MISSING"


_MISSING = _Missing()


# -- driver: finish -----------------------------------------------------------------------------


def finish(call: TaskCall, packed: bytes, *, on_state_mutation: MutationPolicy, engine: str) -> Any:
    """Apply a worker's outcome here: register its records, merge results, return or raise."""
    outcome: RemoteOutcome = cloudpickle.loads(packed)
    error = _error_of(outcome, engine)
    rc = call.run_context
    if outcome.staged is not None and outcome.staged and rc is not None:
        try:
            rc.register(outcome.staged)
        except Exception as exc:
            if error is None:
                raise
            error.add_note(f"also, registering what it recorded failed: {exc}")
        call.results.update(outcome.staged.results)
    call.results.update(outcome.results)
    if error is not None:
        raise error
    if outcome.state_changes is not None and on_state_mutation != "ignore":
        message = (
            f"task {call.task_id!r} changed {outcome.state_changes} on {engine}; a remote task "
            "works on a snapshot of ctx.state and its changes are discarded. Return the value "
            "instead (downstream tasks get it as ctx.inputs), record it with ctx.set_result, or "
            "run the task locally"
        )
        if on_state_mutation == "error":
            raise StateMutationError(message + " (or accept it: on_state_mutation='warn')")
        warnings.warn(message, StateMutationWarning, stacklevel=2)
    return outcome.output


def _error_of(outcome: RemoteOutcome, engine: str) -> BaseException | None:
    if outcome.error_type is None:
        return None
    error: BaseException | None = None
    if outcome.error is not None:
        try:
            error = cloudpickle.loads(outcome.error)
        except Exception:
            error = None
    if not isinstance(error, BaseException):
        error = RemoteTaskError(
            f"{outcome.error_type}: {outcome.error_message}", outcome.error_type
        )
    if isinstance(error, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
        # Not the driver's to act on: the task failed on the worker.
        error = RemoteTaskError(
            f"{outcome.error_type}: {outcome.error_message}", outcome.error_type
        )
    if error.__traceback__ is not None or not outcome.traceback:
        # The worker's frames came back with it (distributed pickles tracebacks with tblib).
        error.add_note(f"raised on {engine} ({outcome.where})")
    else:
        error.add_note(f"raised on {engine} ({outcome.where}):\n{outcome.traceback.rstrip()}")
    return error
