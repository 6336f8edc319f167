"""ASE, an optional adapter: ``Atoms`` and trajectories (lists of ``Atoms``) as ASE JSON.

Imported by the registry the first time an ``ase.Atoms`` value or type is met (never
before; ``pip install molexp[ase]`` installs ASE). It is also the example of how a domain
library plugs in: one ``FileCodec`` with a writer and a reader (see docs/codecs.md).

The format is ASE's own JSON (``ase.io.jsonio``): positions, cell, pbc, numbers, every
per-atom array (custom ones too), ``info``, celldisp and constraints round-trip exactly
(floats are written with ``repr``). A frame is ``{"atoms": ..., "calculator": {"name":
..., "results": {...}}}`` (the calculator part only when its results are current), read
back with a ``SinglePointCalculator`` holding those results; a trajectory is a JSON list
of frames. Outside molexp: ``ase.io.jsonio.read_json(path)``, or ``json.load``.

``read_file`` reads what ``ase.io.read`` reads (``.traj``, ``.xyz``, ``.extxyz``, ``.cif``,
``.pdb``, ...), so a copied file loads ``as_type=Atoms`` (last frame) or ``list[Atoms]``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import BaseCalculator, Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import jsonio
from ase.io import read as ase_read
from ase.io.formats import filetype, ioformats

from molexp.codecs.registry import CodecError, FileCodec, _register_builtin

__all__ = ["ATOMS_CODEC", "frame_from_json", "frame_to_json"]

# ASE annotates little of its API: called through Any.
_decode: Any = jsonio.decode
_single_point: Any = SinglePointCalculator


def frame_to_json(atoms: Atoms) -> dict[str, Any]:
    """One frame as an ASE-JSON-encodable dict."""
    frame: dict[str, Any] = {"atoms": atoms}
    calc = atoms.calc
    if calc is not None and getattr(calc, "results", None) and _results_current(calc, atoms):
        frame["calculator"] = {"name": str(calc.name), "results": dict(calc.results)}
    return frame


_STOCK_CHECKS = (BaseCalculator.check_state, Calculator.check_state)


def _results_current(calc: Any, atoms: Atoms) -> bool:
    """Whether ``calc``'s results describe ``atoms`` (ASE's ``check_state`` finds no change).

    ``check_state`` compares every property with ``numpy.allclose`` (~0.25 ms a frame, a
    third of a trajectory's save); when the atoms the results were computed for are exactly
    equal, property by property, there is no change under any tolerance, so the common case
    (results computed on these very positions) skips it. Anything else, and any calculator
    with its own ``check_state``, gets ASE's answer."""
    before = getattr(calc, "atoms", None)
    check = type(calc).check_state
    if check is BaseCalculator.check_state and not getattr(calc, "use_cache", True):
        return False  # ASE's answer: everything changed
    if (
        before is not None
        and check in _STOCK_CHECKS
        and len(before) == len(atoms)
        and np.array_equal(before.cell.array, atoms.cell.array)
        and np.array_equal(before.pbc, atoms.pbc)
    ):
        checked = set(all_changes) - {"cell", "pbc"}
        ours = checked & set(atoms.arrays)
        if ours == checked & set(before.arrays) and all(
            np.array_equal(before.arrays[name], atoms.arrays[name]) for name in ours
        ):
            return True
    return not calc.check_state(atoms)


def frame_from_json(frame: Any) -> Atoms:
    """An ``Atoms`` from a frame dict (results attached as a SinglePointCalculator)."""
    if not isinstance(frame, dict) or not isinstance(frame.get("atoms"), Atoms):
        raise CodecError("not an ASE JSON frame ({'atoms': ..., 'calculator': ...})")
    atoms: Atoms = frame["atoms"]
    calculator = frame.get("calculator")
    if isinstance(calculator, dict) and calculator.get("results"):
        atoms.calc = _single_point(atoms, **calculator["results"])
    return atoms


def _write(atoms: Atoms, stream: IO[bytes]) -> None:
    stream.write(jsonio.encode(frame_to_json(atoms)).encode())


def _read(stream: IO[bytes]) -> Atoms:
    return frame_from_json(_decode(stream.read().decode(), always_array=False))


def _write_many(frames: Sequence[Atoms], stream: IO[bytes]) -> None:
    stream.write(jsonio.encode([frame_to_json(atoms) for atoms in frames]).encode())


def _read_many(stream: IO[bytes]) -> list[Atoms]:
    frames = _decode(stream.read().decode(), always_array=False)
    if not isinstance(frames, list):
        raise CodecError("an ASE JSON trajectory is a list of frames")
    return [frame_from_json(frame) for frame in frames]


def _ase_stream(stream: IO[bytes], suffix: str) -> tuple[Any, str]:
    try:
        fmt = filetype(f"file{suffix}", read=False)
    except Exception:  # ase raises UnknownFileTypeError (and others) here
        fmt = ""
    if fmt not in ioformats:
        raise CodecError(
            f"a {suffix or 'suffix-less'} file cannot be loaded as ase.Atoms: ASE has no "
            "reader for that extension"
        )
    source: Any = stream if ioformats[fmt].isbinary else io.TextIOWrapper(stream, "utf-8")
    return source, fmt


def _read_file(stream: IO[bytes], suffix: str) -> Atoms:
    source, fmt = _ase_stream(stream, suffix)
    atoms = ase_read(source, index=-1, format=fmt)
    assert isinstance(atoms, Atoms)
    return atoms


def _read_file_many(stream: IO[bytes], suffix: str) -> list[Atoms]:
    source, fmt = _ase_stream(stream, suffix)
    frames = ase_read(source, index=":", format=fmt)
    assert isinstance(frames, list)
    return frames


ATOMS_CODEC: FileCodec[Atoms] = FileCodec(
    type=Atoms,
    name="ase.atoms",
    suffix=".json",
    media_type="application/json",
    write=_write,
    read=_read,
    write_many=_write_many,
    read_many=_read_many,
    read_file=_read_file,
    read_file_many=_read_file_many,
)

_register_builtin(ATOMS_CODEC)
