"""numpy, built in: arrays as ``.npy`` files, scalars as JSON numbers where exact.

Imported by the registry the first time a numpy value or type is met, never before (a
program that stores no array does not import numpy through molexp).

- ``numpy.ndarray`` (any dtype but ``object``, any shape, 0-d included): the ``.npy``
  format (``numpy.save``/``numpy.load`` read and write it), so dtype, shape, byte order,
  Fortran order, structured fields and NaN/Inf are kept bit for bit. A contiguous array
  is written straight from its memory (the header, then the array's own buffer): no copy
  of the data is made; a non-contiguous view is made contiguous first (one copy).
- numpy scalars (``np.int64``, ``np.float32``, ``np.bool_``, ...): their JSON number (or
  bool) when that is exact, read back as the declared scalar type; other scalars
  (``np.longdouble``, complex, datetime) are stored as 0-d arrays.
"""

from __future__ import annotations

import io
import warnings
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt
from numpy.lib import format as npy_format

from molexp.codecs.registry import CodecError, FileCodec, JsonCodec, _register_builtin

__all__ = ["ARRAY_CODEC", "SCALAR_CODEC", "read_npy", "write_npy"]


def write_npy(array: npt.NDArray[Any], stream: IO[bytes]) -> None:
    """Write ``array`` to ``stream`` in ``.npy`` form without copying a contiguous array."""
    if array.dtype.hasobject:
        raise CodecError(
            f"an array of dtype {array.dtype} holds Python objects, which .npy stores only "
            "by pickling; convert it to a numeric, string or structured dtype"
        )
    if array.flags.c_contiguous:
        data, fortran = array, False
    elif array.flags.f_contiguous:
        data, fortran = array.T, True
    else:
        data, fortran = np.ascontiguousarray(array), False
    header = {
        "descr": npy_format.dtype_to_descr(array.dtype),
        "fortran_order": fortran,
        "shape": array.shape,
    }
    head = io.BytesIO()
    try:
        try:
            npy_format.write_array_header_1_0(head, header)
        except ValueError:  # a header longer than 64 KiB (many structured fields)
            head = io.BytesIO()
            npy_format.write_array_header_2_0(head, header)
    except UnicodeEncodeError:  # non-Latin-1 field names need format 3.0: numpy writes it
        whole = io.BytesIO()
        with warnings.catch_warnings():  # "format 3.0 needs numpy >= 1.17": known
            warnings.simplefilter("ignore", UserWarning)
            np.save(whole, array, allow_pickle=False)
        stream.write(whole.getbuffer())
        return
    stream.write(head.getbuffer())
    if data.size:
        stream.write(data.reshape(-1).view(np.uint8).data)  # a view: no copy


def read_npy(stream: IO[bytes]) -> npt.NDArray[Any]:
    """Read one ``.npy`` array (never unpickling)."""
    array = np.load(stream, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        raise CodecError(f"expected a .npy array, found {type(array).__name__}")
    return array


def _read_array_file(stream: IO[bytes], suffix: str) -> npt.NDArray[Any]:
    if suffix in (".npy", ""):
        return read_npy(stream)
    if suffix in (".csv", ".txt", ".dat"):
        text = io.TextIOWrapper(stream, encoding="utf-8")
        return np.loadtxt(text, delimiter="," if suffix == ".csv" else None)
    raise CodecError(f"a {suffix} file is not an array file (.npy, .csv, .txt, .dat)")


def _scalar_to_json(value: np.generic) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating) and value.dtype.itemsize <= 8:
        return float(value)  # float16/32/64 are exact as a double
    return np.asarray(value)  # longdouble, complex, datetime, bytes, void: a 0-d array


def _scalar_from_json(data: Any, declared: Any) -> np.generic:
    cls = declared if isinstance(declared, type) else None
    if isinstance(data, np.ndarray):
        value: np.generic = cast(np.generic, data[()])
    elif isinstance(data, bool):
        value = np.bool_(data)
    elif isinstance(data, int):
        value = np.int64(data) if -(2**63) <= data < 2**63 else np.uint64(data)
    elif isinstance(data, float):
        value = np.float64(data)
    else:
        raise CodecError(f"expected a number for a numpy scalar, got {type(data).__name__}")
    if cls is not None and not isinstance(value, cls):
        if cls in (np.generic, np.number, np.integer, np.floating, np.signedinteger):
            return value
        converted: np.generic = cls(value)
        return converted
    return value


ARRAY_CODEC: FileCodec[npt.NDArray[Any]] = FileCodec(
    type=np.ndarray,
    name="numpy.ndarray",
    suffix=".npy",
    media_type="application/x-npy",
    write=write_npy,
    read=read_npy,
    read_file=_read_array_file,
)

SCALAR_CODEC: JsonCodec[np.generic] = JsonCodec(
    type=cast("type[np.generic]", np.generic),  # abstract: serves every scalar type
    name="numpy.scalar",
    to_json=_scalar_to_json,
    from_json=_scalar_from_json,
)

_register_builtin(ARRAY_CODEC)
_register_builtin(SCALAR_CODEC)
