"""Type rendering (runtime type -> text in the generated module) and its error messages."""

from __future__ import annotations

import collections.abc
import typing
from typing import Annotated, Any, Literal, NewType, Optional, Union

import pytest

from molexp_codegen.errors import TypeRenderError
from molexp_codegen.render import environment
from molexp_codegen.typeexpr import Sym, TypeNode, convert, public_home, resolve, symbols

UserId = NewType("UserId", int)


def _text(tp: Any) -> str:
    node = convert(tp, "task 'x'")
    local = {Sym(s.module, s.top): s.top for s in symbols(node)}
    macros = environment().get_template("macros.jinja").module
    rendered: str = macros.type_expr(resolve(node, local))  # type: ignore[attr-defined]
    return str(rendered)


@pytest.mark.parametrize(
    ("tp", "text"),
    [
        (int, "int"),
        (None, "None"),
        (type(None), "None"),
        (list[int], "list[int]"),
        (dict[str, float], "dict[str, float]"),
        (Optional[int], "int | None"),  # noqa: UP045
        (Union[None, str, int], "str | int | None"),  # noqa: UP007
        (Annotated[float, "eV"], 'Annotated[float, "eV"]'),
        (Annotated[float, object()], "float"),
        (Literal["a", 1, True], 'Literal["a", 1, True]'),
        (tuple[()], "tuple[()]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (tuple, "tuple[Any, ...]"),
        (dict, "dict[Any, Any]"),
        (typing.List, "list[Any]"),  # noqa: UP006
        (typing.Sequence[int], "Sequence[int]"),
        (collections.abc.Mapping, "Mapping[Any, Any]"),
        (collections.abc.Callable[[int, str], bool], "Callable[[int, str], bool]"),
        (collections.abc.Callable[..., None], "Callable[..., None]"),
        (type[int], "type[int]"),
        (Any, "Any"),
    ],
)
def test_renders(tp: Any, text: str) -> None:
    assert _text(tp) == text


def test_symbols_are_imported_from_their_module() -> None:
    node: TypeNode = convert(dict[str, collections.abc.Sequence[int]], "t")
    assert symbols(node) == [Sym("collections.abc", "Sequence")]


def test_private_defining_modules_give_way_to_their_public_re_export() -> None:
    """Python 3.13 defines Path in pathlib._local; the generated code says pathlib, on every
    version (the 3.13 CI run renders the cg_types golden, which holds a Path, too)."""
    import concurrent.futures
    import io
    import pathlib

    assert public_home(pathlib.Path, "pathlib._local", "Path") == "pathlib"
    assert public_home(io.BytesIO, "_io", "BytesIO") == "io"
    assert (
        public_home(concurrent.futures.Future, "concurrent.futures._base", "Future")
        == "concurrent.futures"
    )
    assert symbols(convert(pathlib.Path, "t")) == [Sym("pathlib", "Path")]
    assert symbols(convert(io.BytesIO, "t")) == [Sym("io", "BytesIO")]
    # A public defining module stays (a package __init__ re-export is not preferred).
    assert public_home(UserId, __name__, "UserId") == __name__
    # No public module re-exports it: the private module is the only importable name.
    assert public_home(_Hidden, "_no_public_twin._impl", "_Hidden") == "_no_public_twin._impl"


class _Hidden:
    pass


def test_main_module_types_are_refused_with_the_task_named() -> None:
    fake = type("Thing", (), {"__module__": "__main__"})
    with pytest.raises(
        TypeRenderError, match=r"task 'x': cannot use type __main__\.Thing: .*__main__"
    ):
        convert(fake, "task 'x'")
    with pytest.raises(TypeRenderError, match=r"UserId: it is not importable as .*UserId"):
        convert(NewType("UserId", int), "task 'x'")  # not bound at module level


def test_local_classes_and_type_vars_are_refused() -> None:
    class Local:
        pass

    with pytest.raises(TypeRenderError, match=r"in list\[.*Local\].*defined inside a function"):
        convert(list[Local], "task 'x'")
    with pytest.raises(TypeRenderError, match="type variable"):
        convert(typing.TypeVar("T"), "task 'x'")
    with pytest.raises(TypeRenderError, match="forward reference"):
        convert(list["Missing"], "task 'x'")  # type: ignore[name-defined]  # noqa: F821


def test_module_level_newtype_renders_as_its_name() -> None:
    assert _text(UserId) == "UserId"


def test_ndarray_aliases_render_as_written_not_expanded() -> None:
    np = pytest.importorskip("numpy")  # a dev dependency; the generator never imports it
    from numpy.typing import NDArray

    assert _text(NDArray[np.float64]) == "NDArray[float64]"
    assert _text(NDArray[np.float64] | None) == "NDArray[float64] | None"
    assert _text(dict[str, NDArray[np.int32]]) == "dict[str, NDArray[int32]]"
    assert _text(NDArray[Any]) == "NDArray[Any]"
    assert {(s.module, s.qualname) for s in symbols(convert(NDArray[np.float64], "x"))} == {
        ("numpy.typing", "NDArray"),
        ("numpy", "float64"),
    }
    # A shaped array is not an NDArray: it keeps its shape.
    shaped = np.ndarray[tuple[int, int], np.dtype[np.float64]]
    assert _text(shaped) == "ndarray[tuple[int, int], dtype[float64]]"
