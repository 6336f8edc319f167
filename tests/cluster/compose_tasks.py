"""Mapped tasks run in worker processes (imported there as ``cluster.compose_tasks``)."""

from __future__ import annotations

import os
import threading
from typing import Any

import attrs

from molexp import SubWorkflow, Task, TaskContext, Workflow


@attrs.frozen
class Structure:
    index: int


@attrs.frozen
class Relaxed:
    index: int
    energy: float
    pid: int


class Generate(Task[TaskContext[Any, None, None], list[Structure]]):
    def __init__(self, count: int) -> None:
        self.count = count

    async def execute(self, ctx: TaskContext[Any, None, None]) -> list[Structure]:
        return [Structure(i) for i in range(self.count)]


class Relax(Task[TaskContext[Any, None, Structure], Relaxed]):
    async def execute(self, ctx: TaskContext[Any, None, Structure]) -> Relaxed:
        if ctx.artifact is not None:
            ctx.artifact.save(f"relaxed_{ctx.inputs.index}.txt", str(ctx.inputs.index).encode())
        ctx.set_result(f"energy_{ctx.inputs.index}", -float(ctx.inputs.index))
        return Relaxed(ctx.inputs.index, -float(ctx.inputs.index), os.getpid())


class Burn(Task[TaskContext[Any, None, int], int]):
    """CPU-bound pure Python (holds the GIL): what processes speed up."""

    async def execute(self, ctx: TaskContext[Any, None, int]) -> int:
        total = 0
        for i in range(ctx.inputs):
            total = (total + i * i) % 1_000_003
        return total


class Score(Task[TaskContext[Any, None, Relaxed], float]):
    async def execute(self, ctx: TaskContext[Any, None, Relaxed]) -> float:
        if ctx.artifact is not None:
            ctx.artifact.save("score.txt", b"1")
        return ctx.inputs.energy * 2


class Total(Task[TaskContext[Any, None, list[float]], float]):
    async def execute(self, ctx: TaskContext[Any, None, list[float]]) -> float:
        return sum(ctx.inputs)


class Unpicklable(Task[TaskContext[Any, None, Structure], int]):
    def __init__(self) -> None:
        self.lock = threading.Lock()

    async def execute(self, ctx: TaskContext[Any, None, Structure]) -> int:
        return 0


class Fails(Task[TaskContext[Any, None, Structure], int]):
    async def execute(self, ctx: TaskContext[Any, None, Structure]) -> int:
        if ctx.inputs.index == 2:
            raise ValueError("element 2 is bad")
        return ctx.inputs.index


def scan(count: int, executor: str | None = None) -> tuple[Workflow[Any, Any, Any], Any, Any]:
    """generate -> map(relax) -> map(SubWorkflow(score)) -> total."""
    inner: Workflow[Any, Any, Relaxed] = Workflow("score", input=Relaxed)
    scored = inner.add(Score())
    wf: Workflow[Any, Any, Any] = Workflow("scan")
    structures = wf.add(Generate(count))
    relaxed = wf.map(Relax(), over=structures, executor=executor)
    scores = wf.map(
        SubWorkflow(inner, output=scored), over=relaxed, name="score", executor=executor
    )
    total = wf.add(Total(), after=scores)
    return wf, relaxed, total


class Block(Task[TaskContext[Any, None, Structure], int]):
    """Blocks its worker process (a CPU-bound body cannot be interrupted) after leaving a
    marker file, so the test knows it is running."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    async def execute(self, ctx: TaskContext[Any, None, Structure]) -> int:
        import pathlib
        import time

        pathlib.Path(self.folder, f"started_{ctx.inputs.index}_{os.getpid()}").touch()
        time.sleep(120)
        return ctx.inputs.index
