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

from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from molexp.profile import ProfileConfig

__all__ = ["RunBinding", "SupportsRunBinding", "TaskContext"]


class RunBinding(Protocol):
    """A run seen from one task: every record it writes names that task as producer."""

    @property
    def artifact(self) -> Any: ...
    def log(self, name: str) -> Any: ...
    def checkpoint(self, name: str, *, data: Any) -> Any: ...
    def find_asset(self, name: str, kind: str | None = None) -> Any: ...
    def set_result(self, key: str, value: Any) -> None: ...
    def get_result(self, key: str, default: Any = None) -> Any: ...


class SupportsRunBinding(Protocol):
    """What the context needs of a run context: a binding per task."""

    def bind_task(self, task_id: str | None, *, workflow: str | None) -> RunBinding: ...


# Covariant with read-only properties: a context for `State` fits a task that asks for
# a Protocol `State` satisfies. Defaults let an untyped `ctx: TaskContext` pass --strict.
StateT = TypeVar("StateT", covariant=True, default=Any)
DepsT = TypeVar("DepsT", covariant=True, default=Any)
InputT = TypeVar("InputT", covariant=True, default=Any)

_EMPTY_CONFIG = ProfileConfig()


class TaskContext(Generic[StateT, DepsT, InputT]):
    """The typed view of one task execution: ``state``, ``deps``, ``inputs``, ``config``."""

    __slots__ = (
        "_state",
        "_deps",
        "_inputs",
        "_config",
        "_run_context",
        "_task_id",
        "_workflow",
        "_results",
        "_binding",
    )

    def __init__(
        self,
        *,
        state: StateT,
        deps: DepsT,
        inputs: InputT,
        config: ProfileConfig | None = None,
        run_context: SupportsRunBinding | None = None,
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
        self._binding: RunBinding | None = None

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
    def run_context(self) -> SupportsRunBinding | None:
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

    def _bound(self) -> RunBinding | None:
        if self._run_context is None:
            return None
        if self._binding is None:
            self._binding = self._run_context.bind_task(self._task_id, workflow=self._workflow)
        return self._binding

    @property
    def artifact(self) -> Any:
        """Under a run, the artifact store (``.save(name, data)``); None without a run."""
        binding = self._bound()
        return None if binding is None else binding.artifact

    def log(self, name: str) -> Any:
        """Under a run, the handle of ``logs/<name>.log`` (``.append(line)``); else None."""
        binding = self._bound()
        return None if binding is None else binding.log(name)

    def checkpoint(self, name: str, *, data: Any) -> Any:
        """Under a run, write a checkpoint chained to the previous one of ``name``; else None."""
        binding = self._bound()
        return None if binding is None else binding.checkpoint(name, data=data)

    def find_asset(self, name: str, kind: str | None = None) -> Any:
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
