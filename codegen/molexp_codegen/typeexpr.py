"""Runtime type objects -> a small tree of type expressions, ready for the templates.

``convert`` reads what ``typing.get_type_hints`` returns (classes, generic aliases, unions,
``Annotated``, ``Literal``, ``NewType``...) and builds a tree whose leaves are importable
symbols (``Sym``: module + qualified name) or builtins. The tree is printed by the
``type_expr`` macro of ``templates/macros.jinja``; no source text is assembled here.
``canonical`` gives a fully qualified spelling used only for the graph hash.
"""

from __future__ import annotations

import collections.abc
import enum
import importlib
import keyword
import sys
import types
import typing
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

import attrs
import typing_extensions

from molexp_codegen.errors import TypeRenderError

__all__ = [
    "NEVER",
    "Attr",
    "Builtin",
    "Const",
    "Ellip",
    "Empty",
    "Name",
    "NoneT",
    "Params",
    "Sub",
    "Sym",
    "TypeNode",
    "UnionT",
    "canonical",
    "convert",
    "public_home",
    "resolve",
    "spell",
    "symbols",
]


@attrs.frozen
class Sym:
    """An importable object: ``module`` and its ``qualname`` (``Outer.Inner`` for nested)."""

    kind: ClassVar[str] = "sym"
    module: str
    qualname: str

    @property
    def top(self) -> str:
        return self.qualname.split(".", 1)[0]


@attrs.frozen
class Name:
    """A symbol after import resolution: the text it has in the generated module."""

    kind: ClassVar[str] = "name"
    text: str


@attrs.frozen
class Builtin:
    kind: ClassVar[str] = "name"
    text: str


@attrs.frozen
class NoneT:
    kind: ClassVar[str] = "none"


@attrs.frozen
class Sub:
    """``base[args]``."""

    kind: ClassVar[str] = "sub"
    base: TypeNode
    args: tuple[TypeNode, ...]


@attrs.frozen
class UnionT:
    kind: ClassVar[str] = "union"
    items: tuple[TypeNode, ...]


@attrs.frozen
class Const:
    """A constant inside ``Literal[...]`` or ``Annotated[...]``."""

    kind: ClassVar[str] = "const"
    value: str | int | bool | float | bytes | None


@attrs.frozen
class Attr:
    """An enum member inside ``Literal[...]``: ``Color.RED``."""

    kind: ClassVar[str] = "attr"
    base: TypeNode
    name: str


@attrs.frozen
class Params:
    """The parameter list of ``Callable[[A, B], R]``."""

    kind: ClassVar[str] = "params"
    items: tuple[TypeNode, ...]


@attrs.frozen
class Ellip:
    kind: ClassVar[str] = "ellipsis"


@attrs.frozen
class Empty:
    """``()`` in ``tuple[()]``."""

    kind: ClassVar[str] = "empty"


TypeNode = Sym | Name | Builtin | NoneT | Sub | UnionT | Const | Attr | Params | Ellip | Empty

_BUILTIN_ARITY = {
    list: 1,
    set: 1,
    frozenset: 1,
    dict: 2,
    type: 1,
}
_ABC_ARITY = {
    collections.abc.Callable: -1,
    collections.abc.Generator: 3,
    collections.abc.Coroutine: 3,
    collections.abc.AsyncGenerator: 2,
    collections.abc.Mapping: 2,
    collections.abc.MutableMapping: 2,
    collections.abc.ItemsView: 2,
}
_CONST_TYPES = (str, int, bool, float, bytes)
_ANY = Sym("typing", "Any")
NEVER = Sym("typing", "Never")
_ALIAS_TYPES = tuple(
    dict.fromkeys(
        t
        for t in (getattr(typing, "TypeAliasType", None), typing_extensions.TypeAliasType)
        if isinstance(t, type)
    )
)
_UNPACKS = tuple(dict.fromkeys((typing.Unpack, typing_extensions.Unpack)))
_UNPACK = Sym("typing", "Unpack")
_BOTTOM = (typing.Never, typing.NoReturn, typing_extensions.Never, typing_extensions.NoReturn)


_NDARRAY = Sym("numpy.typing", "NDArray")


def _ndarray_scalar(tp: Any, origin: Any, args: tuple[Any, ...]) -> tuple[Any] | None:
    """``(X,)`` when ``tp`` is what ``numpy.typing.NDArray[X]`` evaluates to (at run time
    ``NDArray[X]`` is ``ndarray[<shape>, dtype[X]]``, its alias name lost), else None. numpy is
    already imported when ``tp`` holds an ndarray; it is never imported here otherwise."""
    numpy = sys.modules.get("numpy")
    if numpy is None or origin is not getattr(numpy, "ndarray", None) or len(args) != 2:
        return None
    dtype_args = get_args(args[1])
    if get_origin(args[1]) is not getattr(numpy, "dtype", None) or len(dtype_args) != 1:
        return None
    try:
        alias: Any = importlib.import_module("numpy.typing").NDArray
        same = bool(alias[dtype_args[0]] == tp)
    except Exception:  # a numpy whose NDArray cannot be subscripted so
        return None
    return (dtype_args[0],) if same else None


def _is_numpy_ndarray_alias(tp: Any) -> bool:
    """``tp`` is ``numpy.typing.NDArray`` itself, a ``TypeAliasType`` defined in a private
    numpy module on newer Pythons (written from ``numpy.typing``, where users import it)."""
    numpy_typing = sys.modules.get("numpy.typing")
    return numpy_typing is not None and tp is getattr(numpy_typing, "NDArray", None)


def convert(tp: Any, where: str) -> TypeNode:
    """The type expression tree of ``tp``; ``where`` names the task/slot for errors."""
    return _Converter(where).convert(tp, tp)


class _Converter:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, top: Any, tp: Any, why: str) -> TypeRenderError:
        shown = _describe(tp)
        whole = "" if tp is top else f" (in {_describe(top)})"
        return TypeRenderError(f"{self.where}: cannot use type {shown}{whole}: {why}")

    def convert(self, tp: Any, top: Any) -> TypeNode:
        if tp is None or tp is type(None):
            return NoneT()
        if tp is Any or tp is typing_extensions.Any:
            return _ANY
        if any(tp is bottom for bottom in _BOTTOM):
            return NEVER
        if isinstance(tp, (str, typing.ForwardRef)):
            raise self.fail(top, tp, "it is an unresolved forward reference")
        if isinstance(tp, typing.TypeVar):
            raise self.fail(
                top, tp, "it is a type variable; give the task a concrete type (subclass it)"
            )
        if isinstance(tp, typing.NewType):
            return self.symbol(tp, top, tp.__module__, getattr(tp, "__qualname__", tp.__name__))
        if isinstance(tp, _ALIAS_TYPES):  # `type X = ...` / TypeAliasType("X", ...): by name
            if _is_numpy_ndarray_alias(tp):  # numpy >= 2.x on Python >= 3.12: its public home
                return _NDARRAY
            return self.symbol(tp, top, tp.__module__, getattr(tp, "__name__", ""))
        if getattr(tp, "__unpacked__", False) and isinstance(tp, types.GenericAlias):
            # ``*tuple[str, ...]`` inside a tuple: spelled ``Unpack[tuple[str, ...]]``
            packed = types.GenericAlias(get_origin(tp), get_args(tp))
            return Sub(_UNPACK, (self.convert(packed, top),))
        origin = get_origin(tp)
        if origin is not None:
            return self.generic(tp, origin, top)
        if tp is Ellipsis:
            return Ellip()
        if isinstance(tp, type):
            return self.klass(tp, top)
        raise self.fail(top, tp, "it is not a type molexp gen knows how to write")

    def generic(self, tp: Any, origin: Any, top: Any) -> TypeNode:
        args = get_args(tp)
        if origin is typing.Annotated or origin is typing_extensions.Annotated:
            inner = self.convert(tp.__origin__, top)
            metadata = tuple(Const(m) for m in tp.__metadata__ if _is_const(m))
            if not metadata:
                return inner
            return Sub(Sym("typing", "Annotated"), (inner, *metadata))
        if origin is Union or origin is types.UnionType:
            items: list[TypeNode] = []
            for arg in args:
                node = self.convert(arg, top)
                if node not in items:
                    items.append(node)
            # ``None`` last, as people write ``X | None``.
            items.sort(key=lambda n: isinstance(n, NoneT))
            return items[0] if len(items) == 1 else UnionT(tuple(items))
        if any(origin is u for u in _UNPACKS):
            return Sub(_UNPACK, (self.convert(args[0], top),))
        if isinstance(origin, _ALIAS_TYPES):  # a generic alias ``Pair[int]``
            return Sub(self.convert(origin, top), tuple(self.convert(a, top) for a in args))
        if origin is Literal or origin is typing_extensions.Literal:
            return Sub(Sym("typing", "Literal"), tuple(self.literal(a, top) for a in args))
        if origin is collections.abc.Callable:
            if not args:
                return Sub(Sym("collections.abc", "Callable"), (Ellip(), _ANY))
            params, result = args[0], args[-1]
            if params is Ellipsis:
                head: TypeNode = Ellip()
            elif isinstance(params, list):
                head = Params(tuple(self.convert(p, top) for p in params))
            else:
                raise self.fail(top, tp, "ParamSpec and Concatenate are not supported")
            return Sub(Sym("collections.abc", "Callable"), (head, self.convert(result, top)))
        scalar = _ndarray_scalar(tp, origin, args)
        if scalar is not None:  # ``NDArray[np.float64]`` as written, not its expansion
            return Sub(_NDARRAY, (self.convert(scalar[0], top),))
        base = self.convert(origin, top) if isinstance(origin, type) else None
        if base is None:
            raise self.fail(top, tp, f"its origin {origin!r} is not supported")
        if isinstance(base, Sub):  # a bare generic expanded with Any; use the bare class
            base = base.base
        if origin is tuple and not args:
            return Sub(base, (Empty(),))
        if not args:
            return self.bare(origin, base, top)
        return Sub(base, tuple(self.convert(a, top) for a in args))

    def literal(self, value: Any, top: Any) -> TypeNode:
        if isinstance(value, enum.Enum):
            if not _dotted_identifier(value.name) or "." in value.name:
                raise self.fail(top, value, f"its member name {value.name!r} is not an identifier")
            return Attr(self.klass(type(value), top), value.name)
        if value is None or isinstance(value, _CONST_TYPES):
            return Const(value)
        raise self.fail(top, value, "unsupported Literal value")

    def klass(self, tp: type[Any], top: Any) -> TypeNode:
        if tp.__module__ == "builtins":
            node: TypeNode = Builtin(tp.__qualname__)
        else:
            node = self.symbol(tp, top, tp.__module__, tp.__qualname__)
        return self.bare(tp, node, top)

    def bare(self, tp: Any, node: TypeNode, top: Any) -> TypeNode:
        """A generic class used without arguments: spell its parameters as ``Any``."""
        if tp is tuple:
            return Sub(node, (_ANY, Ellip()))
        arity = _BUILTIN_ARITY.get(tp)
        if arity is None:
            arity = _ABC_ARITY.get(tp)
        if arity is None and isinstance(tp, type) and tp.__module__ == "collections.abc":
            arity = 1 if getattr(tp, "__class_getitem__", None) else 0
        if arity is None:
            params = getattr(tp, "__parameters__", ())
            arity = len(params) if isinstance(params, tuple) else 0
        if arity == -1:
            return Sub(node, (Ellip(), _ANY))
        if arity == 0:
            return node
        return Sub(node, tuple(_ANY for _ in range(arity)))

    def symbol(self, obj: Any, top: Any, module: str, qualname: str) -> Sym:
        if module == "__main__":
            raise self.fail(
                top,
                obj,
                "it is defined in __main__, which the generated module cannot import; "
                "move it to an importable module",
            )
        if "<locals>" in qualname:
            raise self.fail(
                top,
                obj,
                f"it is defined inside a function ({module}.{qualname}); "
                "move it to module level so the generated module can import it",
            )
        if getattr(obj, "__molexp_unresolved__", None) is not None:
            # Imported only under TYPE_CHECKING, and that import fails here: written as
            # the module's own import says (the checkers resolve it; this interpreter can't).
            if not (_dotted_identifier(module) and _dotted_identifier(qualname)):
                raise self.fail(top, obj, f"its import {module}.{qualname} is not a dotted name")
            return Sym(module, qualname)
        if getattr(obj, "__molexp_placeholder__", None) is not None:
            raise self.fail(top, obj, "it is a generated context, not a task output type")
        if not (_dotted_identifier(module) and _dotted_identifier(qualname)):
            raise self.fail(
                top,
                obj,
                f"its module {module!r} or name {qualname!r} is not a dotted Python "
                "identifier, so no import can name it",
            )
        found = _lookup(module, qualname)
        if found is not obj:
            raise self.fail(
                top,
                obj,
                f"it is not importable as {module}.{qualname}; "
                "define it at module level under that name",
            )
        return Sym(public_home(obj, module, qualname), qualname)


def _private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def public_home(obj: object, module: str, qualname: str) -> str:
    """The module the generated code imports ``obj`` from.

    A class whose defining module is public is imported from there (a user's own
    ``pkg.models``: importing it through ``pkg/__init__.py`` instead could close an import
    cycle). A class defined in a private module (``pathlib._local`` on Python 3.13,
    ``_io``, ``concurrent.futures._base``) is imported from the shortest public module that
    re-exports the same object (``pathlib``, ``io``, ``concurrent.futures``): that is the
    name type checkers and stubs know, and it is the same on every Python version, so the
    generated module and its graph hash are too. With no public re-export, the defining
    module stays.
    """
    if not _private(module):
        return module
    parts = module.split(".")
    candidates = [".".join(parts[:n]) for n in range(1, len(parts))]
    if parts[0].startswith("_") and not parts[0].startswith("__"):
        candidates.insert(0, ".".join([parts[0].lstrip("_"), *parts[1:]]))
        candidates.insert(0, parts[0].lstrip("_"))
    for candidate in candidates:
        if candidate and not _private(candidate) and _lookup(candidate, qualname) is obj:
            return candidate
    return module


def _dotted_identifier(text: str) -> bool:
    """``a.b.C``: what may be written as an import or a name in generated code."""
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in text.split("."))


def _lookup(module: str, qualname: str) -> object:
    try:
        obj: object = sys.modules.get(module) or importlib.import_module(module)
    except Exception:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _is_const(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, float, bytes)):
        return True
    return isinstance(value, str) and value.isprintable()


def _describe(tp: Any) -> str:
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    name = getattr(tp, "__qualname__", None)
    module = getattr(tp, "__module__", None)
    if isinstance(name, str) and isinstance(module, str) and not get_origin(tp):
        return f"{module}.{name}"
    return repr(tp)


def symbols(node: TypeNode) -> list[Sym]:
    """Every symbol the expression needs imported, in order of appearance."""
    found: list[Sym] = []
    _walk(node, found)
    return found


def _walk(node: TypeNode, found: list[Sym]) -> None:
    if isinstance(node, Sym):
        found.append(node)
    elif isinstance(node, Sub):
        _walk(node.base, found)
        for arg in node.args:
            _walk(arg, found)
    elif isinstance(node, (UnionT, Params)):
        for item in node.items:
            _walk(item, found)
    elif isinstance(node, Attr):
        _walk(node.base, found)


def resolve(node: TypeNode, local: typing.Mapping[Sym, str]) -> TypeNode:
    """Replace each symbol by its local name in the generated module."""
    if isinstance(node, Sym):
        head = local[Sym(node.module, node.top)]
        rest = node.qualname[len(node.top) :]
        return Name(head + rest)
    if isinstance(node, Sub):
        return Sub(resolve(node.base, local), tuple(resolve(a, local) for a in node.args))
    if isinstance(node, UnionT):
        return UnionT(tuple(resolve(i, local) for i in node.items))
    if isinstance(node, Params):
        return Params(tuple(resolve(i, local) for i in node.items))
    if isinstance(node, Attr):
        return Attr(resolve(node.base, local), node.name)
    return node


def spell(node: TypeNode) -> str:
    """The source text of a resolved expression (as the ``type_expr`` macro writes it)."""
    if isinstance(node, (Name, Builtin)):
        return node.text
    if isinstance(node, Sym):
        return node.qualname
    if isinstance(node, NoneT):
        return "None"
    if isinstance(node, Sub):
        return f"{spell(node.base)}[{', '.join(spell(a) for a in node.args)}]"
    if isinstance(node, UnionT):
        return " | ".join(spell(i) for i in node.items)
    if isinstance(node, Params):
        return f"[{', '.join(spell(i) for i in node.items)}]"
    if isinstance(node, Attr):
        return f"{spell(node.base)}.{node.name}"
    if isinstance(node, Const):
        return repr(node.value)
    if isinstance(node, Ellip):
        return "..."
    return "()"


def canonical(node: TypeNode) -> str:
    """A fully qualified, unambiguous spelling of ``node``: the graph hash's input only."""
    if isinstance(node, Sym):
        return f"{node.module}:{node.qualname}"
    if isinstance(node, (Name, Builtin)):
        return node.text
    if isinstance(node, NoneT):
        return "None"
    if isinstance(node, Sub):
        return f"{canonical(node.base)}[{','.join(canonical(a) for a in node.args)}]"
    if isinstance(node, UnionT):
        return "|".join(canonical(i) for i in node.items)
    if isinstance(node, Params):
        return f"[{','.join(canonical(i) for i in node.items)}]"
    if isinstance(node, Attr):
        return f"{canonical(node.base)}.{node.name}"
    if isinstance(node, Const):
        return repr(node.value)
    if isinstance(node, Ellip):
        return "..."
    return "()"
