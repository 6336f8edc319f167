"""Tasks that run on the test cluster's workers (imported there as ``cluster.tasks``)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import attrs

from molexp import Task, TaskContext


def where() -> str:
    """The Dask worker address when running on one, else ``local``."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


@attrs.define
class State:
    seen: list[str] = attrs.field(factory=list)
    steps: int = 0


@attrs.frozen
class Part:
    index: int
    pid: int
    where: str


class Split(Task[TaskContext[State, None, int], int]):
    async def execute(self, ctx: TaskContext[State, None, int]) -> int:
        return ctx.inputs


class Note(Task[TaskContext[State, None, Any], None]):
    """Appends where it ran to the shared state (only shared when it runs locally)."""

    async def execute(self, ctx: TaskContext[State, None, Any]) -> None:
        ctx.state.seen.append(f"{ctx.task_id} on {where()}")


class Work(Task[TaskContext[State, None, int], Part]):
    def __init__(self, index: int) -> None:
        self.index = index

    async def execute(self, ctx: TaskContext[State, None, int]) -> Part:
        part = Part(self.index, os.getpid(), where())
        log = ctx.log("work")
        if log is not None:
            log.append(f"{ctx.task_id} started on {part.where}")
        if ctx.artifact is not None:
            saved = ctx.artifact.save(f"parts/{self.index}.json", part)
            assert saved.version == 0 and saved.path.is_file()  # registered by the driver
        for step in range(2):
            ctx.checkpoint("progress", data={"task": ctx.task_id, "step": step})
        await asyncio.sleep(0)
        ctx.set_result(f"size_{self.index}", ctx.inputs * self.index)
        if log is not None:
            log.append(f"{ctx.task_id} done")
        return part


class Join(Task[TaskContext[State, None, dict[str, Part]], list[int]]):
    async def execute(self, ctx: TaskContext[State, None, dict[str, Part]]) -> list[int]:
        if ctx.artifact is not None:
            ctx.artifact.save("summary.json", {"parts": sorted(ctx.inputs)})
        return sorted(p.index for p in ctx.inputs.values())


class Fail(Task):
    async def execute(self, ctx: TaskContext) -> None:
        if ctx.artifact is not None:
            ctx.artifact.save("before-failure.txt", "written before the failure")
        raise ValueError(f"bad input on {where()}")


class Unpicklable(Exception):
    def __init__(self, message: str, *, code: int) -> None:  # keyword-only: breaks unpickling
        super().__init__(message)
        self.code = code


class RaiseOdd(Task):
    async def execute(self, ctx: TaskContext) -> None:
        raise Unpicklable("odd failure", code=3)


class Slow(Task):
    """Runs until ``stop`` appears in ``folder`` (a thread on a worker cannot be killed)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    async def execute(self, ctx: TaskContext) -> None:
        Path(self.folder, f"started-{ctx.task_id}").touch()
        for _ in range(600):
            if Path(self.folder, "stop").exists():
                break
            time.sleep(0.05)


class HoldsLock(Task):
    def __init__(self) -> None:
        self.lock = threading.Lock()

    async def execute(self, ctx: TaskContext) -> None:
        return None


class Noop(Task):
    async def execute(self, ctx: TaskContext) -> Any:
        return ctx.inputs


class ReturnsLock(Task):
    async def execute(self, ctx: TaskContext) -> Any:
        return threading.Lock()


class Crash(Task):
    async def execute(self, ctx: TaskContext) -> None:
        os._exit(3)


class Mutate(Task[TaskContext[State, None, None], int]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> int:
        ctx.state.steps += 1
        return ctx.state.steps


class ReadState(Task[TaskContext[State, None, Any], list[str]]):
    async def execute(self, ctx: TaskContext[State, None, Any]) -> list[str]:
        return list(ctx.state.seen)


class Where(Task):
    async def execute(self, ctx: TaskContext) -> str:
        return where()


class InSlurmJob(Task):
    """Returns the Slurm job it ran in (``SLURM_JOB_ID``) after ``seconds`` of sleep; with a
    ``folder``, first touches ``started-<job id>`` there."""

    def __init__(self, seconds: float = 0.0, folder: str | None = None) -> None:
        self.seconds = seconds
        self.folder = folder

    async def execute(self, ctx: TaskContext) -> str | None:
        job = os.environ.get("SLURM_JOB_ID")
        if self.folder is not None:
            Path(self.folder, f"started-{job}").touch()
        await asyncio.sleep(self.seconds)
        return job


class Spectrum:
    """A user type with no codec on import: the driver registers one (see SPECTRUM_CODEC)."""

    def __init__(self, peaks: list[float]) -> None:
        self.peaks = peaks


def _write_spectrum(value: Spectrum, stream: Any) -> None:
    stream.write("\n".join(map(repr, value.peaks)).encode())


def _read_spectrum(stream: Any) -> Spectrum:
    return Spectrum([float(line) for line in stream.read().decode().splitlines()])


def spectrum_codec() -> Any:
    from molexp.codecs import FileCodec

    return FileCodec(
        type=Spectrum,
        name="tests.Spectrum",
        suffix=".peaks",
        media_type="text/x-peaks",
        write=_write_spectrum,
        read=_read_spectrum,
    )


class SaveSpectrum(Task[TaskContext[None, None, None], str]):
    """Saves a Spectrum where it runs; returns where that was."""

    async def execute(self, ctx: TaskContext[None, None, None]) -> str:
        assert ctx.artifact is not None
        ctx.artifact.save("spectrum", Spectrum([1.5, 2.25, 3.0]))
        return where()
