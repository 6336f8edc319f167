"""numpy built in: arrays stored losslessly as .npy (hypothesis over dtypes and shapes),
scalars as exact JSON numbers, NDArray fields of attrs classes as bundle members."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path
from typing import Any

import attrs
import hypothesis.extra.numpy as hnp
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from molexp.codecs.arrays import write_npy
from molexp.workspace import RunContext, Workspace

from .conftest import roundtrip as _roundtrip

_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="="),
    hnp.integer_dtypes(endianness=">"),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(endianness="<"),
    hnp.floating_dtypes(endianness=">", sizes=(32, 64)),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
    hnp.array_dtypes(
        st.one_of(hnp.floating_dtypes(sizes=64), hnp.integer_dtypes()), min_size=1, max_size=3
    ),
)
_ARRAYS = hnp.arrays(_DTYPES, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))


def _same(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    """Bit-for-bit equal, dtype (byte order included) and shape too."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=80, deadline=None)
@given(_ARRAYS)
def test_any_array_roundtrips_bit_for_bit(array: npt.NDArray[Any]) -> None:
    back = _roundtrip(array)
    assert _same(array, back)
    stream = io.BytesIO()
    write_npy(array, stream)  # what numpy itself reads
    stream.seek(0)
    assert _same(np.load(stream, allow_pickle=False), array)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=2)))
def test_fortran_order_and_strided_views(array: npt.NDArray[np.float64]) -> None:
    fortran = np.asfortranarray(array)
    assert _same(_roundtrip(fortran), fortran)
    view = array[::2, ::-1]
    assert _same(_roundtrip(view), np.ascontiguousarray(view))


def test_nan_inf_and_signed_zero_survive(rc: RunContext) -> None:
    values = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324], dtype=np.float64)
    saved = rc.artifact.save("special", values)
    assert (saved.path.suffix, saved.media_type, saved.encoding) == (
        ".npy",
        "application/x-npy",
        "numpy.ndarray",
    )
    assert _same(np.load(saved.path), values)  # a plain .npy file
    assert _same(rc.artifact.load("special", as_type=np.ndarray), values)


def test_object_arrays_are_refused_before_anything_is_recorded(rc: RunContext) -> None:
    with pytest.raises(TypeError, match="dtype object holds Python objects"):
        rc.artifact.save("o", np.array([{}, 1], dtype=object))
    assert rc.artifact.list() == []


@attrs.frozen
class Relaxed:
    energy: float
    forces: npt.NDArray[np.float64]
    steps: np.int64
    trajectory: list[npt.NDArray[np.float64]] = attrs.field(factory=list)


def test_ndarray_fields_are_stored_as_npy_members_openable_with_numpy(rc: RunContext) -> None:
    forces = np.random.default_rng(1).normal(size=(108, 3))
    forces[0, 0] = np.nan
    frames = [forces * 2, forces * 3]
    value = Relaxed(-3.5, forces, np.int64(12), frames)
    saved = rc.artifact.save("relaxed", value)
    assert saved.encoding == "bundle" and saved.path.suffix == ".npz"
    assert saved.type_name == f"{__name__}.Relaxed"
    with np.load(saved.path) as npz:  # what a chemist does with the file
        assert sorted(npz.files) == ["forces", "trajectory/0", "trajectory/1", "value.json"]
        assert _same(npz["forces"], forces)
        document = json.loads(npz["value.json"])
    assert document["energy"] == -3.5 and document["steps"] == 12
    back = rc.artifact.load("relaxed", as_type=Relaxed)
    assert type(back.steps) is np.int64 and back.steps == 12
    assert _same(back.forces, forces) and all(map(_same, back.trajectory, frames))
    loose = rc.artifact.load("relaxed")  # untyped: JSON with the arrays in place
    assert _same(loose["forces"], forces)


def test_the_strict_json_rule_still_names_a_nan_float_next_to_arrays(rc: RunContext) -> None:
    with pytest.raises(TypeError, match=r"value at value\['energy'\] is nan; JSON has no NaN"):
        rc.artifact.save("bad", Relaxed(float("nan"), np.zeros(3), np.int64(0)))


@pytest.mark.parametrize(
    ("scalar", "stored"),
    [
        (np.int64(-(2**63)), -(2**63)),
        (np.uint64(2**64 - 1), 2**64 - 1),
        (np.int8(-5), -5),
        (np.float32(0.1), float(np.float32(0.1))),
        (np.float16(1 / 3), float(np.float16(1 / 3))),
        (np.float64(2.5), 2.5),
        (np.bool_(True), True),
    ],
)
def test_numpy_scalars_are_exact_json_numbers(rc: RunContext, scalar: Any, stored: Any) -> None:
    rc.set_result("x", scalar)
    assert rc.get_result("x") == stored and type(rc.get_result("x")) is type(stored)
    rc.checkpoint("x", data={"v": scalar})
    back = rc.load_checkpoint("x", as_type=dict[str, type(scalar)])  # type: ignore[misc]
    assert type(back["v"]) is type(scalar) and back["v"] == scalar


def test_argmin_result_and_inexact_scalars(rc: RunContext) -> None:
    energies = np.array([3.0, -1.0, 2.0])
    rc.set_result("best", np.argmin(energies))  # np.int64
    assert rc.get_result("best") == 1
    rc.checkpoint("z", data={"z": np.complex128(1 + 2j), "l": np.longdouble(1) / 3})
    back = rc.load_checkpoint("z", as_type=dict[str, np.generic])
    assert back["z"] == np.complex128(1 + 2j) and back["l"] == np.longdouble(1) / 3
    assert type(back["l"]) is np.longdouble
    with pytest.raises(TypeError, match="is stored as a file"):
        rc.set_result("c", np.complex128(1j))  # not exact as JSON: not a summary
    with pytest.raises(TypeError, match=r"value at value is nan"):
        rc.set_result("n", np.float32("nan"))


def test_a_copied_npy_or_csv_file_loads_as_an_array(rc: RunContext, tmp_path: Path) -> None:
    array = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "a.npy", array)
    np.savetxt(tmp_path / "a.csv", array, delimiter=",")
    npy = rc.artifact.save("a.npy", tmp_path / "a.npy")
    csv = rc.artifact.save("a.csv", tmp_path / "a.csv")
    assert (npy.media_type, csv.media_type) == ("application/x-npy", "text/csv")
    assert isinstance(rc.artifact.load("a.npy"), bytes)
    assert _same(rc.artifact.load("a.npy", as_type=np.ndarray), array)
    assert _same(rc.artifact.load("a.csv", as_type=np.ndarray), array)


def test_a_large_array_is_written_without_a_copy(ws: Workspace) -> None:
    array = np.ones(8 << 20)  # 64 MiB
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.artifact.save("warm", np.ones(4))
        tracemalloc.start()
        try:
            rc.artifact.save("big", array)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 2 << 20, f"saving a 64 MiB array allocated {peak / 2**20:.1f} MiB"
        back = rc.artifact.load("big")
        assert _same(back, array)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1, max_size=8), _ARRAYS, max_size=4))
def test_dicts_of_arrays_roundtrip(value: dict[str, npt.NDArray[Any]]) -> None:
    back = _roundtrip(value)
    assert set(back) == set(value) and all(_same(back[k], value[k]) for k in value)
