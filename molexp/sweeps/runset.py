"""A sweep over a parameter space: one run per cell and replica, and running them.

``sweep(experiment, workflow, grid=..., replicas=...)`` checks every value against the
declared config before creating anything, then creates (or finds) one ``pending`` run per
cell x replica and returns a ``RunSet``; ``RunSet.execute(parallel=N)`` runs the ones that
have not succeeded yet.

A run's id is derived from its content: the experiment, the workflow's name, the profile
name, the resolved config of the cell (seed included) and the replica index. Repeating a
sweep therefore finds the runs it made before: it adds nothing already present, skips the
cells that succeeded and runs the unfinished ones again (a new attempt of the same run).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

import attrs

from molexp.config_check import (
    OverrideError,
    check_config_class,
    check_override,
    class_paths,
    declared_paths,
)
from molexp.profile import ProfileConfig
from molexp.profile_file import deep_merge
from molexp.sweeps.grid import SweepError, cells

if TYPE_CHECKING:
    from molexp.runtime.executor import Executor
    from molexp.workflow.graph import Workflow
    from molexp.workspace import Experiment, Run

__all__ = ["RunSet", "SweepCell", "SweepReport", "sweep"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@attrs.frozen
class SweepCell:
    """One run of a sweep: its parameters (the cell, plus ``replica``/``seed`` with
    replicas), its resolved config and its run; ``added`` when this sweep created it."""

    params: dict[str, Any]
    config: ProfileConfig
    replica: int | None
    seed: int | None
    run: Run
    added: bool


@attrs.frozen
class SweepReport:
    """What ``RunSet.execute`` did: the runs it ran (by final status) and the ones it left."""

    succeeded: list[Run]
    failed: list[Run]
    skipped: list[Run]
    """Already succeeded before this call."""
    busy: list[Run]
    """Running in another process (not touched)."""

    @property
    def ok(self) -> bool:
        return not self.failed


class RunSet(Sequence["Run"]):
    """The runs of one sweep, in cell order (grid order, replicas innermost)."""

    def __init__(self, workflow: Workflow[Any, Any, Any], cells: list[SweepCell]) -> None:
        self.workflow = workflow
        self.cells = cells

    @overload
    def __getitem__(self, index: int) -> Run: ...
    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...
    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        if isinstance(index, slice):
            return [cell.run for cell in self.cells[index]]
        return self.cells[index].run

    def __len__(self) -> int:
        return len(self.cells)

    def __iter__(self) -> Iterator[Run]:
        return (cell.run for cell in self.cells)

    @property
    def added(self) -> int:
        """How many runs this sweep created (the others existed from an earlier sweep)."""
        return sum(cell.added for cell in self.cells)

    def unfinished(self) -> list[Run]:
        """The runs that have not succeeded (what ``execute`` would run)."""
        return [cell.run for cell in self.cells if cell.run.status.value != "succeeded"]

    def execute(
        self,
        *,
        parallel: int = 1,
        executor: Executor | None = None,
        executors: Mapping[str, Executor] | None = None,
        max_concurrency: int | None = None,
        on_done: Callable[[SweepCell, str], None] | None = None,
    ) -> SweepReport:
        """Run every run that has not succeeded, ``parallel`` at a time; see
        ``execute_async`` (this one runs its own event loop)."""
        return asyncio.run(
            self.execute_async(
                parallel=parallel,
                executor=executor,
                executors=executors,
                max_concurrency=max_concurrency,
                on_done=on_done,
            )
        )

    async def execute_async(
        self,
        *,
        parallel: int = 1,
        executor: Executor | None = None,
        executors: Mapping[str, Executor] | None = None,
        max_concurrency: int | None = None,
        on_done: Callable[[SweepCell, str], None] | None = None,
    ) -> SweepReport:
        """Run the unfinished runs, at most ``parallel`` at once, each with its cell's config.

        Runs overlap in this event loop: task bodies that await (I/O, a remote executor)
        run side by side; CPU-bound bodies need ``executor=`` (Dask, processes) to use
        more cores. A failed run does not stop the others. ``on_done(cell, status)`` is
        called as each run ends (``succeeded``, ``failed``, ``skipped``, ``busy``).
        """
        from molexp.runtime import WorkflowRuntime
        from molexp.workspace import RunStateError

        if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
            raise ValueError(f"parallel must be a positive integer, got {parallel!r}")
        gate = asyncio.Semaphore(parallel)
        outcome: dict[str, list[Run]] = {"succeeded": [], "failed": [], "skipped": [], "busy": []}

        def done(cell: SweepCell, status: str) -> None:
            outcome[status].append(cell.run)
            if on_done is not None:
                on_done(cell, status)

        async def one(cell: SweepCell) -> None:
            async with gate:
                status = cell.run.status.value
                if status == "succeeded":
                    done(cell, "skipped")
                    return
                if status == "running":
                    done(cell, "busy")
                    return
                try:
                    async with cell.run.start(profile=cell.config) as rc:
                        result = await WorkflowRuntime().execute(
                            self.workflow,
                            config=cell.config,
                            run_context=rc,
                            max_concurrency=max_concurrency,
                            executor=executor,
                            executors=executors,
                        )
                        if result.failure is not None:
                            failure = result.failure
                            rc.fail(
                                failure.exception,
                                traceback=failure.traceback,
                                task_id=failure.task_id,
                            )
                except RunStateError:
                    done(cell, "busy")  # started by another process meanwhile
                    return
                except Exception:
                    done(cell, "failed")  # recorded on the run by the session
                    return
                done(cell, cell.run.status.value if cell.run.status.value in outcome else "failed")

        await asyncio.gather(*(one(cell) for cell in self.cells))
        order = {cell.run.id: i for i, cell in enumerate(self.cells)}
        return SweepReport(
            **{key: sorted(runs, key=lambda r: order[r.id]) for key, runs in outcome.items()}
        )

    def __repr__(self) -> str:
        return f"RunSet({self.workflow.name!r}, {len(self)} runs, {self.added} added)"


def sweep(
    experiment: Experiment,
    workflow: Workflow[Any, Any, Any],
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zip: Mapping[str, Sequence[Any]] | None = None,
    replicas: int | None = None,
    config: ProfileConfig | Mapping[str, Any] | None = None,
    declared: Sequence[Mapping[str, Any]] | None = None,
    seed_key: str = "seed",
    seed: int | None = None,
    tags: Sequence[str] = (),
) -> RunSet:
    """Create (or find) one run of ``workflow`` per cell of ``grid`` x ``zip`` x replica.

    Keys are dotted config keys (``md.temperature``); each cell's values are merged over
    ``config`` (the base profile) and recorded as the run's params. With ``replicas=N``
    each cell gets N runs whose config has ``seed_key`` = ``seed + replica`` (``seed``:
    the base config's ``seed_key``, else 0); ``replica`` and ``seed`` are recorded as
    params too. Every value is checked against ``declared`` (the profile file's tables;
    default: the base config) before any run is created: an unknown key names the
    nearest known one, a value of the wrong type names the key and the expected type.
    """
    base = ProfileConfig.coerce(config)
    space = cells(dict(grid or {}), zip)
    if replicas is not None and (
        isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1
    ):
        raise SweepError(f"replicas must be a positive integer, got {replicas!r}")
    known = declared_paths(*(declared if declared is not None else [base]))
    config_type: type[Any] | None = getattr(workflow, "config_type", None)
    if config_type is not None:
        for key, value in class_paths(config_type).items():
            known.setdefault(key, value)
    for cell in space:
        for key, value in cell.items():
            try:
                check_override(key, value, known, what="sweep key")
            except OverrideError as exc:
                raise SweepError(str(exc)) from None
    base_seed = seed
    if replicas is not None and base_seed is None:
        declared_seed = base.get(seed_key)
        base_seed = (
            declared_seed
            if isinstance(declared_seed, int) and not isinstance(declared_seed, bool)
            else 0
        )
    plans: list[tuple[dict[str, Any], ProfileConfig, int | None, int | None]] = []
    for cell in space:
        for replica in range(replicas) if replicas is not None else (None,):
            data = base.to_dict()
            for key, value in cell.items():
                data = deep_merge(data, _nested(key, value))
            params = dict(cell)
            run_seed: int | None = None
            if replica is not None:
                assert base_seed is not None
                run_seed = base_seed + replica
                data = deep_merge(data, _nested(seed_key, run_seed))
                params.update(replica=replica, seed=run_seed)
            try:
                cell_config = ProfileConfig(data, name=base.name)
                check_config_class(cell_config, config_type)
            except (TypeError, OverrideError) as exc:
                raise SweepError(f"cell {cell}: {exc}") from None
            plans.append((params, cell_config, replica, run_seed))
    return RunSet(workflow, _materialize(experiment, workflow, plans, list(tags)))


def _materialize(
    experiment: Experiment,
    workflow: Workflow[Any, Any, Any],
    plans: list[tuple[dict[str, Any], ProfileConfig, int | None, int | None]],
    tags: list[str],
) -> list[SweepCell]:
    from molexp.workspace import RunNotFoundError, RunStateError

    seen: set[str] = set()
    found: list[tuple[str, Run | None]] = []
    for params, config, replica, _ in plans:
        run_id = cell_run_id(experiment, workflow.name, params, config, replica)
        if run_id in seen:
            raise SweepError(f"two cells resolve to the same config: {params}")
        seen.add(run_id)
        try:
            found.append((run_id, experiment.run(run_id)))
        except RunNotFoundError:
            found.append((run_id, None))
    missing = [
        (run_id, plan[0]) for (run_id, run), plan in zip(found, plans, strict=True) if not run
    ]
    created: dict[str, Run] = {}
    try:
        created = {run.id: run for run in experiment.add_runs(missing, tags=tags)}
    except RunStateError:  # another sweep created some meanwhile: one at a time then
        for run_id, params in missing:
            try:
                created[run_id] = experiment.add_run(params, run_id=run_id, tags=tags)
            except RunStateError:
                pass
    out: list[SweepCell] = []
    for (run_id, run), (params, config, replica, run_seed) in zip(found, plans, strict=True):
        added = run_id in created
        chosen = created[run_id] if added else run or experiment.run(run_id)
        out.append(SweepCell(params, config, replica, run_seed, chosen, added))
    return out


def cell_run_id(
    experiment: Experiment,
    workflow_name: str,
    params: Mapping[str, Any],
    config: ProfileConfig,
    replica: int | None,
) -> str:
    """``temperature1.5-r0-1a2b3c4d5e6f``: readable values, then a digest of everything
    that makes the run what it is (so equal cells get equal ids, and nothing else does)."""
    identity = {
        "project": experiment.project.name,
        "experiment": experiment.name,
        "workflow": workflow_name,
        "profile": config.name,
        "config": config.to_json(),
        "replica": replica,
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    words = [
        f"{key.rpartition('.')[2]}{_word(value)}"
        for key, value in params.items()
        if key not in ("replica", "seed")
    ]
    if replica is not None:
        words.append(f"r{replica}")
    slug = _UNSAFE.sub("_", "-".join(words))[:80].strip("._+-")
    return f"{slug}-{digest}" if slug and slug[0].isalnum() else f"cell-{digest}"


def _word(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def _nested(key: str, value: Any) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(key.split(".")):
        nested = {part: nested}
    result: dict[str, Any] = nested
    return result
