"""The hook around running one node: resume, cache, retries, timeouts, stored outputs.

``WorkflowRuntime`` calls ``NodeHook.run(index, inputs, body)`` instead of the body when
the execution is under a run or a task has a retry/timeout policy; everything here is
keyed on the node id string, so any node the scheduler runs goes through it the same way.

Under a run, for each task (actors always run: they stream):

1. **resume**: the run's ``tasks.jsonl`` (``molexp.caching.outputs``) holds an output of
   this task stored by an earlier attempt, with the same *lineage* (task identity, code
   hash, task parameters, ``cache_version``, the run's config, the workflow input, and the
   lineages of its upstreams) -> the stored output, read back as the declared type, and
   the body does not run. A different lineage (the task's code, its parameters or an
   upstream changed) re-runs it, and with it everything downstream; ``notes`` says why.
2. **cache** (opt in, ``molexp.caching.store``): the key of the task's typed inputs is in
   the workspace's cache -> the output stored by the run that computed it.
3. **tries**: the body, under ``timeout`` (cancelled after it: ``TaskTimeout``), again on
   the exceptions of ``retry_on`` up to ``retries`` times with exponential backoff; each
   failed try is recorded (status, error, duration).
4. **store**: the output, durably, with its lineage (and cache key); an output that cannot
   be stored is noted (the task is then not resumable/cacheable), never an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any

import attrs

from molexp.caching.code import code_digest
from molexp.caching.digest import UnhashableValue, digest_value
from molexp.caching.outputs import TaskRecords
from molexp.profile import ProfileConfig
from molexp.runtime.plan import Plan
from molexp.runtime.tries import TaskTimeout, TaskTry
from molexp.workflow.actor import Actor
from molexp.workflow.compose import SubWorkflow
from molexp.workflow.fingerprint import wiring_fingerprint
from molexp.workflow.graph import Workflow
from molexp.workflow.policy import TaskPolicy

if TYPE_CHECKING:
    from molexp.caching.store import CacheStore
    from molexp.workspace.run_context import RunContext

__all__ = ["NodeHook", "TaskTimeout", "TaskTry", "make_hook"]

logger = logging.getLogger("molexp.runtime")


def _identity(task: object) -> str:
    cls = type(task)
    return f"{cls.__module__}.{cls.__qualname__}"


def _params(task: object) -> Any:
    """What a task instance was built with (its fields, or its ``__dict__``); for a
    sub-workflow, its inner wiring and output node (the inner tasks' own parameters and
    code are in its code digest, see ``NodeHook._code``)."""
    if isinstance(task, SubWorkflow):
        return {"inner": wiring_fingerprint(task.inner), "output": task.output.id}
    if attrs.has(type(task)):
        return task
    state = getattr(task, "__dict__", None)
    return dict(state) if state else None


def _key(parts: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    for name in sorted(parts):
        h.update(f"{name}={parts[name]!s};".encode())
    return h.hexdigest()


def _describe_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    changed = []
    for name in ("identity", "code", "params", "version", "config", "input"):
        if old.get(name) != new.get(name):
            changed.append({"identity": "task class", "version": "cache_version"}.get(name, name))
    old_up, new_up = old.get("upstream") or {}, new.get("upstream") or {}
    if old_up != new_up:
        ups = sorted(k for k in set(old_up) | set(new_up) if old_up.get(k) != new_up.get(k))
        changed.append("upstream " + ", ".join(repr(u) for u in ups))
    return ", ".join(changed) or "lineage"


class NodeHook:
    """Per execution: resume lookups, cache, tries and stored outputs (see the module doc)."""

    def __init__(
        self,
        workflow: Workflow[Any, Any, Any],
        plan: Plan,
        *,
        run_context: RunContext | None,
        config: ProfileConfig,
        inputs: Any,
        cache: bool = False,
        cache_store: CacheStore | None = None,
    ) -> None:
        self.workflow = workflow
        self.plan = plan
        self.run_context = run_context
        self.config = config
        self.policies: list[TaskPolicy] = [workflow.policy(i) for i in plan.ids]
        self.cache_all = cache
        self.cache_store = cache_store
        self.records: TaskRecords | None = None
        if run_context is not None:
            self.records = TaskRecords(
                run_context.path,
                attempt=run_context.attempt,
                fsync=run_context.workspace.store.fsync,
            )
        self._inputs = inputs
        self._input_digest: str | None = None
        self._codes: dict[object, str] = {}  # per task class; per SubWorkflow instance
        if self.records is not None:
            # Before any task runs: module state a task mutates as it runs (a list it
            # appends to) must not make the same code hash differently per attempt.
            for task in plan.tasks:
                self._code(task)
        self._lineage: list[tuple[str, dict[str, Any]] | None] = [None] * len(plan.ids)
        self._lineage_upto = 0  # every lineage below this index is computed
        self._declared: dict[Any, Any] = {}
        self.reused: list[str] = []
        self.cached: dict[str, str] = {}
        """Per task id served from the cache: the run that computed it."""
        self.notes: list[str] = []
        self.tries: dict[str, list[TaskTry]] = {}

    # -- lineage -----------------------------------------------------------------------------

    def _code(self, task: object) -> str:
        if isinstance(task, SubWorkflow):
            # The inner tasks' code and parameters: a change inside a sub-workflow re-runs
            # the node that holds it (and what follows), never reuses a stale output.
            digest = self._codes.get(task)
            if digest is None:
                h = hashlib.sha256(code_digest(type(task)).encode())
                for node in task.inner.nodes:
                    h.update(f"{node.id}={self._code(node.task)};".encode())
                    try:
                        params = digest_value(_params(node.task), where=node.id)
                    except (UnhashableValue, RecursionError) as exc:
                        params = f"unhashable: {exc}"
                    h.update(f"{params};".encode())
                digest = self._codes[task] = h.hexdigest()
            return digest
        cls = type(task)
        digest = self._codes.get(cls)
        if digest is None:
            digest = self._codes[cls] = code_digest(cls)
        return digest

    def _base_parts(self, index: int) -> dict[str, Any]:
        task = self.plan.tasks[index]
        task_id = self.plan.ids[index]
        try:
            params = digest_value(_params(task), where=f"task {task_id!r} parameters")
        except (UnhashableValue, RecursionError) as exc:
            params = f"unhashable: {exc}"
        return {
            "identity": _identity(task),
            "code": self._code(task),
            "params": params,
            "version": self.policies[index].cache_version,
            "config": self.config.content_hash,
        }

    def lineage(self, index: int) -> tuple[str, dict[str, Any]]:
        done = self._lineage[index]
        if done is not None:
            return done
        # Upstreams come first in the plan's (topological) order: computing every missing
        # lineage up to ``index`` in order needs no recursion (a 10,000-task chain).
        for j in range(self._lineage_upto, index + 1):
            if self._lineage[j] is None:
                self._lineage[j] = self._compute_lineage(j)
        self._lineage_upto = max(self._lineage_upto, index + 1)
        found = self._lineage[index]
        assert found is not None
        return found

    def _compute_lineage(self, index: int) -> tuple[str, dict[str, Any]]:
        parts = self._base_parts(index)
        plan = self.plan
        upstream = plan.upstream[index]
        if not upstream:
            if self._input_digest is None:
                try:
                    self._input_digest = digest_value(self._inputs, where="workflow input")
                except (UnhashableValue, RecursionError) as exc:
                    self._input_digest = f"unhashable: {exc}"
            parts["input"] = self._input_digest
        else:
            lineages = self._lineage
            parts["upstream"] = {key: lineages[up][0] for key, up in upstream}  # type: ignore[index]
        parts["node"] = plan.ids[index]
        return (_key(parts), parts)

    def declared(self, index: int) -> Any:
        """The output type to read a stored output back as (None: its recorded class)."""
        task = self.plan.tasks[index]
        # One introspection per class (get_type_hints is slow); a parameterized generic
        # instance (Identity[int]()) binds its own type variables: per node.
        memo: Any = index if hasattr(task, "__orig_class__") else type(task)
        if memo not in self._declared:
            from molexp.workflow.introspect import declared_output_type, free_type_vars

            try:
                tp = declared_output_type(task)
            except Exception:
                tp = None
            if tp is Any or tp is None or free_type_vars(tp):
                tp = None
            self._declared[memo] = tp
        return self._declared[memo]

    # -- running one node --------------------------------------------------------------------

    async def run(self, index: int, inputs: Any, body: Callable[[], Awaitable[Any]]) -> Any:
        task_id = self.plan.ids[index]
        task = self.plan.tasks[index]
        if isinstance(task, Actor):
            return await body()
        records = self.records
        lineage: tuple[str, dict[str, Any]] | None = None
        if records is not None:
            lineage = self.lineage(index)
            prior = records.stored.get(task_id)
            if prior is not None:
                if prior.get("lineage") == lineage[0]:
                    reused = self._reuse(index, prior)
                    if reused is not _MISSING:
                        return reused
                else:
                    why = _describe_change(prior.get("parts") or {}, lineage[1])
                    self.notes.append(f"task {task_id!r} runs again: its {why} changed")
        policy = self.policies[index]
        cache_key: str | None = None
        cache_parts: dict[str, Any] | None = None
        if records is not None and (policy.cache or self.cache_all) and self.cache_store:
            cache_key, cache_parts = self._cache_key(index, inputs)
            if cache_key is not None:
                hit = self._cache_hit(index, cache_key, cache_parts or {})
                if hit is not _MISSING:
                    return hit
        output = await self._tries(task_id, policy, body)
        if records is not None and lineage is not None:
            self._store(index, output, lineage, cache_key, cache_parts)
        return output

    async def run_element(
        self, index: int, element: int, task_id: str, body: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Element ``element`` of map node ``index``, attributed as ``task_id``
        (``relax[3]``): reused on resume when the map's lineage is unchanged and the element
        was stored, else run with the element task's retries and timeout, and stored. Its
        lineage is the map's plus its position (the map's upstream lineage fixes the list)."""
        records = self.records
        lineage: tuple[str, dict[str, Any]] | None = None
        if records is not None:
            map_lineage = self.lineage(index)
            parts = {"map": map_lineage[0], "element": element}
            lineage = (_key(parts), parts)
            prior = records.stored.get(task_id)
            if prior is not None:
                if prior.get("lineage") == lineage[0]:
                    reused = self._reuse(index, prior, task_id)
                    if reused is not _MISSING:
                        return reused
                else:
                    why = _describe_change(prior.get("parts") or {}, map_lineage[1])
                    self.notes.append(f"task {task_id!r} runs again: its map's {why} changed")
        output = await self._tries(task_id, self.policies[index], body)
        if records is not None and lineage is not None:
            self._store(index, output, lineage, None, None, task_id=task_id)
        return output

    def _reuse(self, index: int, record: dict[str, Any], task_id: str | None = None) -> Any:
        task_id = task_id or self.plan.ids[index]
        assert self.records is not None
        try:
            value = self.records.load(record, self.declared(index))
        except Exception as exc:
            self.notes.append(
                f"task {task_id!r} runs again: its stored output could not be read "
                f"({type(exc).__name__}: {exc})"
            )
            return _MISSING
        self.records.append(
            {"event": "reused", "task": task_id, "from_attempt": record.get("run_attempt")},
            durable=False,  # informational: losing it in a crash loses nothing
        )
        self.reused.append(task_id)
        return value

    async def _tries(
        self, task_id: str, policy: TaskPolicy, body: Callable[[], Awaitable[Any]]
    ) -> Any:
        if policy.plain:
            return await body()
        tries = policy.retries + 1
        for attempt in range(1, tries + 1):
            started = perf_counter()
            try:
                if policy.timeout is None:
                    output = await body()
                else:
                    try:
                        async with asyncio.timeout(policy.timeout) as scope:
                            output = await body()
                    except TimeoutError as exc:
                        if scope.expired():
                            raise TaskTimeout(task_id, policy.timeout, attempt, tries) from exc
                        raise
            except Exception as exc:
                elapsed = perf_counter() - started
                status = "timeout" if isinstance(exc, TaskTimeout) else "failed"
                self._record_try(task_id, attempt, status, elapsed, exc)
                if attempt < tries and isinstance(exc, policy.retry_on):
                    delay = policy.retry_backoff * (2 ** (attempt - 1))
                    logger.warning(
                        "task %r try %d of %d %s (%s: %s); again in %g s",
                        task_id,
                        attempt,
                        tries,
                        status,
                        type(exc).__name__,
                        exc,
                        delay,
                    )
                    if delay:
                        await asyncio.sleep(delay)
                    continue
                raise
            self._record_try(task_id, attempt, "succeeded", perf_counter() - started, None)
            return output
        raise AssertionError("unreachable")  # pragma: no cover

    def _record_try(
        self, task_id: str, attempt: int, status: str, elapsed: float, exc: BaseException | None
    ) -> None:
        error = None if exc is None else f"{type(exc).__name__}: {exc}"
        self.tries.setdefault(task_id, []).append(TaskTry(task_id, attempt, status, elapsed, error))
        if self.records is not None and status != "succeeded":
            self.records.append(
                {
                    "event": "try",
                    "task": task_id,
                    "try": attempt,
                    "status": status,
                    "duration": round(elapsed, 6),
                    "error": error,
                }
            )

    def _store(
        self,
        index: int,
        output: Any,
        lineage: tuple[str, dict[str, Any]],
        cache_key: str | None,
        cache_parts: dict[str, Any] | None,
        source: dict[str, Any] | None = None,
        task_id: str | None = None,
    ) -> None:
        task_id = task_id or self.plan.ids[index]
        records = self.records
        assert records is not None
        tries = self.tries.get(task_id)
        extra: dict[str, Any] = {"lineage": lineage[0], "parts": lineage[1]}
        if tries:
            extra["try"] = tries[-1].attempt
        if cache_key is not None:
            extra["cache_key"] = cache_key
            extra["cache_parts"] = cache_parts
        if source is not None:
            extra["source"] = source
        stored = records.store_output(task_id, output, **extra)
        if isinstance(stored, str):
            note = (
                f"task {task_id!r}: output not stored, so the task is not resumable or "
                f"cacheable: {stored}"
            )
            self.notes.append(note)
            logger.warning("%s", note)
            records.append({"event": "unstored", "task": task_id, "note": stored})
            return
        if cache_key is not None and self.cache_store is not None and source is None:
            assert self.run_context is not None
            try:
                self.cache_store.put(cache_key, cache_parts or {}, self.run_context, stored)
            except OSError as exc:
                self.notes.append(f"task {task_id!r}: output not added to the cache: {exc}")

    # -- the cross-run cache -----------------------------------------------------------------

    def _cache_key(self, index: int, inputs: Any) -> tuple[str | None, dict[str, Any] | None]:
        from molexp.caching.store import cache_key

        task_id = self.plan.ids[index]
        base = self._base_parts(index)
        try:
            return cache_key(base, inputs, task_id=task_id)
        except UnhashableValue as exc:
            note = f"task {task_id!r} is not cacheable: {exc}"
            self.notes.append(note)
            logger.warning("%s", note)
            return None, None

    def _cache_hit(self, index: int, key: str, parts: dict[str, Any]) -> Any:
        assert self.cache_store is not None and self.run_context is not None
        task_id = self.plan.ids[index]
        entry = self.cache_store.get(key)
        if entry is None:
            return _MISSING
        try:
            value = self.cache_store.load(entry, self.declared(index))
        except Exception as exc:
            self.notes.append(
                f"task {task_id!r}: cache entry unreadable, computing it "
                f"({type(exc).__name__}: {exc})"
            )
            return _MISSING
        source = {"kind": "cache", "run": entry["run"], "task": entry["task"]}
        self.cache_store.reregister_assets(entry, self.run_context, task_id)
        self._store(index, value, self.lineage(index), key, parts, source=source)
        self.cached[task_id] = str(entry["run"])
        return value

    def summary(self) -> dict[str, Any]:
        """The ``WorkflowResult`` fields this hook fills."""
        return {
            "reused": tuple(self.reused),
            "cached": dict(self.cached),
            "tries": {k: tuple(v) for k, v in self.tries.items()},
            "notes": tuple(self.notes),
        }

    def close(self) -> None:
        if self.records is not None:
            self.records.close()


_MISSING: Any = object()


def make_hook(
    workflow: Workflow[Any, Any, Any],
    plan: Plan,
    *,
    run_context: RunContext | None,
    config: ProfileConfig,
    inputs: Any,
    cache: bool = False,
) -> NodeHook | None:
    """The execution's hook, or None when there is nothing to do around any node (no run,
    no retries or timeouts): the runtime's fast path."""
    if run_context is None and all(workflow.policy(i).plain for i in plan.ids):
        return None
    store = None
    if run_context is not None:
        from molexp.caching.store import CacheStore

        store = CacheStore(run_context.workspace.root, fsync=run_context.workspace.store.fsync)
    return NodeHook(
        workflow,
        plan,
        run_context=run_context,
        config=config,
        inputs=inputs,
        cache=cache,
        cache_store=store,
    )
