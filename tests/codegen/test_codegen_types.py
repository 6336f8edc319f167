"""Type rendering (runtime type -> text in the generated module) and its error messages."""

from __future__ import annotations

import collections.abc
import typing
from typing import Annotated, Any, Literal, NewType, Optional, Union

import pytest

from molexp_codegen.errors import TypeRenderError
from molexp_codegen.render import environment
from molexp_codegen.typeexpr import Sym, TypeNode, convert, resolve, symbols

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
