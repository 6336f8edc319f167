from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional, Union

import numpy as np
from numpy.typing import NDArray

from cg_types.models import AtomId, Cell, Lattice, Phase, Spectrum, Writer
from cg_types.workflow_contexts import ReportContext
from molexp import Task, TaskContext

Root = TaskContext[None, None, None]


class Nothing(Task[Root, None]):
    async def execute(self, ctx: Root) -> None:
        return None


class MaybeCell(Task[Root, Optional[Cell]]):  # noqa: UP045
    async def execute(self, ctx: Root) -> Optional[Cell]:  # noqa: UP045 - rendered as X | None
        return None


class Either(Task[Root, Union[int, str]]):  # noqa: UP007
    async def execute(self, ctx: Root) -> Union[int, str]:  # noqa: UP007 - rendered as X | Y
        return 1


class Energy(Task[Root, Annotated[float, "eV"]]):
    async def execute(self, ctx: Root) -> Annotated[float, "eV"]:
        return 1.0


class Atom(Task[Root, AtomId]):
    async def execute(self, ctx: Root) -> AtomId:
        return AtomId(3)


class Site(Task[Root, Lattice.Site]):
    async def execute(self, ctx: Root) -> Lattice.Site:
        return Lattice.Site(0.5)


class Spec(Task[Root, Spectrum]):
    async def execute(self, ctx: Root) -> Spectrum:
        return {"frequencies": [], "intensities": []}


class Sink(Task[Root, Writer]):
    async def execute(self, ctx: Root) -> Writer:
        import sys

        return sys.stdout


class Where(Task[Root, Path]):
    async def execute(self, ctx: Root) -> Path:
        return Path(".")


class State(Task[Root, Literal[Phase.SOLID, Phase.LIQUID, "gas"]]):
    async def execute(self, ctx: Root) -> Literal[Phase.SOLID, Phase.LIQUID, "gas"]:
        return "gas"


class Forces(Task[Root, NDArray[np.float64]]):
    """Rendered as written: ``NDArray[float64]``, not ``ndarray[tuple[Any, ...], ...]``."""

    async def execute(self, ctx: Root) -> NDArray[np.float64]:
        return np.zeros((2, 3))


class Report(Task[ReportContext, str]):
    async def execute(self, ctx: ReportContext) -> str:
        i = ctx.inputs
        cell = i["cell"]
        return f"{i['nothing']}{cell and cell.lengths}{i['either']}{i['energy'] + 1.0}" + (
            f"{i['atom'] + 1}{i['site'].x}{i['spec']['frequencies']}{i['sink'].write('')}"
            f"{i['where'].name}{i['phase']}{i['forces'].sum()}"
        )
