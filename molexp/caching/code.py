"""A normalized hash of a task's code: what it runs, not how its source is laid out.

``code_digest(obj)`` (a task instance, a class, a function) hashes compiled code objects:
the bytecode, constants, names, argument layout and flags of every function and method,
recursively into nested functions, comprehensions and lambdas. Line numbers, comments,
blank lines and formatting are not part of a code object's hashed parts, so reformatting
or commenting a task keeps its digest; any change to what it does changes it.

What a function reads by name is followed when it belongs to the *user's package* (the
top-level package of the module that defines the task, or ``__main__``):

- a helper function or class it calls -> its code, recursively (cycles cut by name);
- a module-level constant it reads (a JSON-like value, a tuple, an enum, ...) -> its
  content digest; another module of the package it reads attributes of -> those attributes;
- values closed over (a closure's cells) -> likewise.

Library code (molexp, numpy, the standard library) is identified by name only: upgrading
a library does not invalidate caches (bump ``cache_version`` when that should matter).
Bytecode is specific to the Python minor version, which is therefore part of the digest.
"""

from __future__ import annotations

import hashlib
import sys
import types
from typing import Any

import attrs

__all__ = ["code_digest", "user_package"]

_PY = f"{sys.version_info.major}.{sys.version_info.minor}".encode()


def user_package(module: str | None) -> str:
    """The top-level package whose code is followed (``__main__`` for a script)."""
    if not module:
        return "__main__"
    return module.split(".", 1)[0]


def _generated(fn: types.FunctionType) -> bool:
    return fn.__code__.co_filename.startswith("<attrs generated")


def _in_package(obj: Any, package: str) -> bool:
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        return False
    return module == "__main__" if package == "__main__" else user_package(module) == package


class _CodeHasher:
    def __init__(self, package: str) -> None:
        self.package = package
        self.h = hashlib.sha256(b"molexp-code/1 py" + _PY)
        self.seen: set[str] = set()

    def obj(self, obj: Any) -> None:
        if isinstance(obj, type):
            self.klass(obj)
        elif isinstance(obj, (staticmethod, classmethod)):
            self.obj(obj.__func__)
        elif isinstance(obj, property):
            for part in (obj.fget, obj.fset, obj.fdel):
                if part is not None:
                    self.obj(part)
        elif isinstance(obj, types.FunctionType):
            self.function(obj)
        elif isinstance(obj, types.MethodType):
            self.obj(obj.__func__)
        else:
            wrapped = getattr(obj, "__wrapped__", None)
            if wrapped is not None:
                self.obj(wrapped)
            else:
                self.value(obj)

    def _mark(self, label: str) -> bool:
        self.h.update(b"<" + label.encode() + b">")
        if label in self.seen:
            return False
        self.seen.add(label)
        return True

    def klass(self, cls: type[Any]) -> None:
        label = f"class {cls.__module__}.{cls.__qualname__}"
        if not self._mark(label) or not _in_package(cls, self.package):
            return
        for base in cls.__mro__[1:]:
            if _in_package(base, self.package):
                self.klass(base)
            else:
                self.h.update(f"base {base.__module__}.{base.__qualname__};".encode())
        for name in sorted(vars(cls)):
            if name in ("__dict__", "__weakref__", "__module__", "__doc__", "__qualname__"):
                continue
            if name.startswith("__attrs") or name in ("__slots__", "__match_args__"):
                continue
            member = vars(cls)[name]
            if name == "__annotations__" and not member:
                continue  # created empty on first introspection (typing, cattrs)
            self.h.update(b"member " + name.encode() + b";")
            if isinstance(member, types.FunctionType) and _generated(member):
                continue  # made by attrs from the fields hashed below (``__hash__`` is salted)
            self.obj(member)
        if attrs.has(cls):
            for field in attrs.fields(cls):
                self.h.update(f"field {field.name} = ".encode())  # types: __annotations__
                self.value(field.default)

    def function(self, fn: types.FunctionType) -> None:
        label = f"fn {fn.__module__}.{fn.__qualname__}"
        if not self._mark(label):
            return
        if not _in_package(fn, self.package):
            return
        self.code(fn.__code__, fn.__globals__)
        if fn.__defaults__:
            self.value(fn.__defaults__)
        if fn.__kwdefaults__:
            self.value(fn.__kwdefaults__)
        for cell in fn.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                self.h.update(b"empty-cell;")
                continue
            self.obj(content)

    def code(self, co: types.CodeType, globals_: dict[str, Any]) -> None:
        h = self.h
        h.update(
            b"code %d %d %d %d %d;"
            % (
                co.co_argcount,
                co.co_posonlyargcount,
                co.co_kwonlyargcount,
                co.co_flags,
                len(co.co_code),
            )
        )
        h.update(co.co_code)
        h.update(("|".join(co.co_names) + "#" + "|".join(co.co_varnames)).encode())
        h.update(("|".join(co.co_freevars) + "#" + "|".join(co.co_cellvars)).encode())
        for const in co.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, globals_)
            else:
                self.const(const)
        for name in co.co_names:
            if name in globals_:
                self.global_(name, globals_[name], co.co_names)

    def const(self, const: Any) -> None:
        if isinstance(const, frozenset):
            self.h.update(b"frozenset:")
            for item in sorted(repr(item) for item in const):
                self.h.update(item.encode() + b",")
        elif isinstance(const, tuple):
            self.h.update(b"tuple:")
            for item in const:
                self.const(item)
        else:
            self.h.update(f"{type(const).__name__}:{const!r};".encode())

    def global_(self, name: str, value: Any, names: tuple[str, ...]) -> None:
        self.h.update(b"global " + name.encode() + b"=")
        if isinstance(value, types.ModuleType):
            self.h.update(value.__name__.encode() + b";")
            if user_package(value.__name__) == self.package:
                for attr in names:
                    if attr in vars(value):
                        self.global_(f"{value.__name__}.{attr}", vars(value)[attr], ())
            return
        if isinstance(value, (type, types.FunctionType)):
            self.obj(value)
            return
        if callable(value) and not _in_package(value, self.package):
            qual = getattr(value, "__qualname__", type(value).__qualname__)
            self.h.update(f"{getattr(value, '__module__', '?')}.{qual};".encode())
            return
        self.value(value)

    def value(self, value: Any) -> None:
        from molexp.caching.digest import UnhashableValue, digest_value

        try:
            self.h.update(b"value " + digest_value(value).encode() + b";")
        except (UnhashableValue, RecursionError):
            # Not content-digestible (an engine object, a lock): identified by its type.
            cls = type(value)
            self.h.update(f"object {cls.__module__}.{cls.__qualname__};".encode())


def code_digest(obj: Any, *, package: str | None = None) -> str:
    """The normalized code hash of ``obj`` (a task instance's class, a class, a function).

    Computed afresh on each call (a module constant may change at run time); callers
    memoize it per execution."""
    target: Any = obj if isinstance(obj, (type, types.FunctionType)) else type(obj)
    if isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        target = obj
    pkg = package or user_package(getattr(target, "__module__", None))
    hasher = _CodeHasher(pkg)
    hasher.obj(target)
    return hasher.h.hexdigest()
