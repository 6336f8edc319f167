"""The ASE adapter: Atoms (cell, pbc, constraints, info, arrays, calculator results) and
trajectories round-trip exactly through ASE JSON; copied ASE files load as Atoms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms, FixBondLength, FixCartesian
from ase.io import jsonio
from ase.io import write as ase_write
from hypothesis import given, settings
from hypothesis import strategies as st

from molexp.workspace import RunContext

from .conftest import roundtrip


def assert_same_atoms(a: Atoms, b: Atoms) -> None:
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    assert a.positions.tobytes() == b.positions.tobytes()
    assert a.cell.array.tobytes() == b.cell.array.tobytes()
    assert a.pbc.tolist() == b.pbc.tolist()
    assert sorted(a.arrays) == sorted(b.arrays)
    for name in a.arrays:
        assert a.arrays[name].tobytes() == b.arrays[name].tobytes(), name
    assert [c.todict() for c in a.constraints] == [c.todict() for c in b.constraints]
    assert a.info == b.info
    if a.calc is None:
        assert b.calc is None
    else:
        assert b.calc is not None
        for key, value in a.calc.results.items():
            assert np.asarray(b.calc.results[key]).tobytes() == np.asarray(value).tobytes(), key


_FLOATS = st.floats(-1e3, 1e3, allow_nan=False, width=64)


@st.composite
def structures(draw: st.DrawFn) -> Atoms:
    n = draw(st.integers(1, 6))
    numbers = draw(st.lists(st.integers(1, 90), min_size=n, max_size=n))
    positions = draw(st.lists(st.tuples(_FLOATS, _FLOATS, _FLOATS), min_size=n, max_size=n))
    cell = draw(st.lists(st.tuples(_FLOATS, _FLOATS, _FLOATS), min_size=3, max_size=3))
    pbc = draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))
    atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
    constraints: list[Any] = []
    if draw(st.booleans()):
        constraints.append(FixAtoms(indices=draw(st.lists(st.integers(0, n - 1), unique=True))))
    if n >= 2 and draw(st.booleans()):
        constraints.append(FixBondLength(0, 1))
    if draw(st.booleans()):
        constraints.append(FixCartesian(0, mask=(True, False, True)))
    atoms.set_constraint(constraints)
    if draw(st.booleans()):
        atoms.set_initial_magnetic_moments(draw(st.lists(_FLOATS, min_size=n, max_size=n)))
    if draw(st.booleans()):
        atoms.arrays["charges_custom"] = np.array(draw(st.lists(_FLOATS, min_size=n, max_size=n)))
    atoms.info.update(draw(st.dictionaries(st.text("abcxyz", min_size=1), st.integers() | _FLOATS)))
    return atoms


@settings(max_examples=40)
@given(structures())
def test_atoms_roundtrip_exactly(atoms: Atoms) -> None:
    assert_same_atoms(atoms, roundtrip(atoms))


def _relaxed_cu() -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.05, seed=1)
    atoms.set_constraint(FixAtoms(indices=[0, 1]))
    atoms.info["seed"] = 1
    atoms.calc = EMT()
    atoms.get_forces()
    atoms.get_stress()
    return atoms


def test_atoms_with_calculator_results(rc: RunContext) -> None:
    atoms = _relaxed_cu()
    saved = rc.artifact.save("relaxed", atoms)
    assert (saved.encoding, saved.path.suffix, saved.type_name) == (
        "ase.atoms",
        ".json",
        "ase.atoms.Atoms",
    )
    back = rc.artifact.load("relaxed", as_type=Atoms)
    assert_same_atoms(atoms, back)
    assert back.get_potential_energy() == atoms.get_potential_energy()
    frame = jsonio.read_json(str(saved.path), always_array=False)  # ASE reads the file
    assert isinstance(frame["atoms"], Atoms) and frame["calculator"]["name"] == "emt"


def test_stale_calculator_results_are_not_stored(rc: RunContext) -> None:
    atoms = _relaxed_cu()
    atoms.positions[0, 0] += 0.1  # the results no longer describe these positions
    rc.artifact.save("moved", atoms)
    assert rc.artifact.load("moved", as_type=Atoms).calc is None


def test_lists_of_atoms_are_one_trajectory_file(rc: RunContext) -> None:
    frames = []
    for i in range(5):
        atoms = _relaxed_cu()
        atoms.positions += 0.01 * i
        atoms.calc = EMT()
        atoms.get_forces()
        frames.append(atoms)
    saved = rc.artifact.save("traj", frames)
    assert saved.encoding == "ase.atoms[]" and saved.type_name == "list[ase.atoms.Atoms]"
    back = rc.artifact.load("traj", as_type=list[Atoms])
    assert len(back) == 5
    for a, b in zip(frames, back, strict=True):
        assert_same_atoms(a, b)
    with pytest.raises(TypeError, match="it holds a list"):
        rc.artifact.load("traj", as_type=Atoms)


@attrs.frozen
class Step:
    structure: Atoms
    forces: npt.NDArray[np.float64]


def test_atoms_and_arrays_inside_an_attrs_class(rc: RunContext) -> None:
    atoms = _relaxed_cu()
    saved = rc.artifact.save("step", Step(atoms, atoms.get_forces()))
    assert saved.path.suffix == ".zip"  # a .json member next to the .npy one
    back = rc.artifact.load("step", as_type=Step)
    assert_same_atoms(atoms, back.structure)
    assert back.forces.tobytes() == atoms.get_forces().tobytes()


@pytest.mark.parametrize(
    ("suffix", "fmt", "media_type"),
    [
        (".traj", "traj", "application/x-ase-trajectory"),
        (".extxyz", "extxyz", "chemical/x-extxyz"),
        (".xyz", "extxyz", "chemical/x-xyz"),
        (".cif", "cif", "chemical/x-cif"),
        (".pdb", "proteindatabank", "chemical/x-pdb"),
    ],
)
def test_copied_ase_files_have_media_types_and_load_as_atoms(
    rc: RunContext, tmp_path: Path, suffix: str, fmt: str, media_type: str
) -> None:
    frames = [bulk("Cu", cubic=True), bulk("Cu", cubic=True).repeat((2, 1, 1))]
    source = tmp_path / f"frames{suffix}"
    ase_write(source, frames if fmt in ("traj", "extxyz") else frames[-1], format=fmt)
    saved = rc.artifact.save(f"frames{suffix}", source)
    assert saved.media_type == media_type
    assert isinstance(rc.artifact.load(f"frames{suffix}"), bytes)
    last = rc.artifact.load(f"frames{suffix}", as_type=Atoms)
    assert len(last) == 8 and last.get_chemical_symbols() == ["Cu"] * 8
    if fmt in ("traj", "extxyz"):
        assert [len(a) for a in rc.artifact.load(f"frames{suffix}", as_type=list[Atoms])] == [4, 8]


def test_log_text_and_unknown_suffixes(rc: RunContext, tmp_path: Path) -> None:
    (tmp_path / "md.log").write_text("step 1\n")
    (tmp_path / "run.weird").write_bytes(b"\x00")
    log = rc.artifact.save("md.log", tmp_path / "md.log")
    assert log.media_type == "text/plain"
    assert rc.artifact.load("md.log", as_type=str) == "step 1\n"
    other = rc.artifact.save("run.weird", tmp_path / "run.weird")
    assert other.media_type == "application/octet-stream"
    with pytest.raises(TypeError, match="a .weird file cannot be loaded as ase.Atoms"):
        rc.artifact.load("run.weird", as_type=Atoms)
    assert molecule("H2O").get_chemical_formula() == "H2O"


class _AlwaysChanged(SinglePointCalculator):  # type: ignore[misc]
    """A calculator with its own idea of a change: results never current."""

    def check_state(self, atoms: Atoms, tol: float = 1e-15) -> list[str]:
        return ["positions"]


def _variants() -> list[tuple[str, Atoms]]:
    """Atoms whose SinglePointCalculator results were computed on the unchanged base."""
    base = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
    base.set_initial_magnetic_moments([0.5] * len(base))

    def with_results(
        change: Callable[[Atoms], object], calc: type = SinglePointCalculator
    ) -> Atoms:
        atoms = base.copy()
        atoms.calc = calc(base, energy=-1.0, forces=np.zeros((len(base), 3)))
        change(atoms)
        return atoms

    def move_tiny(a: Atoms) -> None:
        a.positions[0, 0] += 1e-17  # below check_state's 1e-15 tolerance: not a change

    def move(a: Atoms) -> None:
        a.positions[1, 2] += 1e-3

    def number(a: Atoms) -> None:
        a.numbers[0] = 29 if a.numbers[0] != 29 else 28

    def cell(a: Atoms) -> None:
        a.set_cell(a.cell.array * 1.01)

    def pbc(a: Atoms) -> None:
        a.pbc = [True, True, False]

    def charges(a: Atoms) -> None:
        a.set_initial_charges([0.1] * len(a))

    def no_magmoms(a: Atoms) -> None:
        del a.arrays["initial_magmoms"]

    def info(a: Atoms) -> None:
        a.info["note"] = "not a property a calculator depends on"

    return [
        ("unchanged", with_results(lambda a: None)),
        ("tiny move", with_results(move_tiny)),
        ("moved", with_results(move)),
        ("number", with_results(number)),
        ("cell", with_results(cell)),
        ("pbc", with_results(pbc)),
        ("charges added", with_results(charges)),
        ("magmoms removed", with_results(no_magmoms)),
        ("info", with_results(info)),
        ("own check_state", with_results(lambda a: None, _AlwaysChanged)),
    ]


@pytest.mark.parametrize(
    ("label", "atoms"), _variants(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_results_are_kept_exactly_when_ase_says_they_are_current(label: str, atoms: Atoms) -> None:
    from molexp.codecs.structures import frame_to_json

    expected = not atoms.calc.check_state(atoms)
    assert ("calculator" in frame_to_json(atoms)) is expected, label
    assert expected is (label in ("unchanged", "tiny move", "info")), label
