"""Strict cattrs structuring shared by config views (and anything else reading user data)."""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol, TypeVar

import cattrs
from cattrs.v import format_exception

T = TypeVar("T")


class _ErrorFactory(Protocol):
    def __call__(self, message: str, problems: list[str], /) -> Exception: ...


def _strict(kind: type[Any], accepted: tuple[type[Any], ...]) -> Any:
    def hook(value: Any, _: Any) -> Any:
        # bool is an int subclass: never let True pass as 1, nor "false" become True.
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {kind.__name__}, got bool {value!r}")
        if not isinstance(value, accepted):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return kind(value)

    return hook


@cache
def _converter(forbid_extra: bool = False) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=forbid_extra)
    converter.register_structure_hook(bool, _strict(bool, (bool,)))
    converter.register_structure_hook(int, _strict(int, (int,)))
    converter.register_structure_hook(float, _strict(float, (int, float)))
    converter.register_structure_hook(str, _strict(str, (str,)))
    return converter


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, TypeError) and str(exc).startswith("expected "):
        return str(exc)  # our strict hooks already say what was expected and got
    return format_exception(exc, type_)


def structure_strict(
    data: Any,
    cls: type[T],
    where: str,
    error: _ErrorFactory,
    *,
    path: str = "$",
    forbid_extra: bool = False,
) -> T:
    """Structure ``data`` into ``cls``; on failure raise ``error`` listing every problem.

    ``path`` prefixes each problem's key path (``md.steps``), ``where`` heads the message.
    ``forbid_extra``: a key the class does not declare is a problem too.
    """
    try:
        return _converter(forbid_extra).structure(data, cls)
    except (cattrs.BaseValidationError, TypeError, ValueError) as exc:
        if isinstance(exc, cattrs.BaseValidationError):
            problems = cattrs.transform_error(exc, path=path, format_exception=_format)
        else:
            problems = [f"{where}: {exc}"]
        listing = "\n  ".join(problems)
        raise error(f"{where} does not fit {cls.__name__}:\n  {listing}", problems) from exc
