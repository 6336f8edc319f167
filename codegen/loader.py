"""Import a workflow module for generation, even before its generated module exists.

Task modules import their contexts from the generated module (``from .workflow_contexts
import TrainContext``), which does not exist on a fresh checkout and may name contexts the
graph no longer has. While the workflow module is imported, a meta path finder answers
the import of the *target* generated module (and only that one) with a placeholder whose
every public attribute is a fresh ``TaskContext`` subclass. The generator never reads the
old generated file; the placeholder leaves ``sys.modules`` when the import is done.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from codegen.errors import LoadError
from molexp.context import TaskContext
from molexp.workflow.graph import Workflow

__all__ = [
    "LoadedModule",
    "Located",
    "find_workflows",
    "import_target",
    "locate",
    "module_names_for",
    "placeholder_imports",
]


@attrs.frozen
class Located:
    """Where a workflow module is: its dotted name, file, and the sys.path entry it needs."""

    name: str
    file: Path
    root: Path | None


@attrs.frozen
class LoadedModule:
    name: str
    file: Path
    module: types.ModuleType


def locate(target: str) -> Located:
    """``path/to/workflow.py`` (pytest-style: the first folder up without ``__init__.py``
    goes on sys.path) or a dotted ``package.module`` importable from the current folder."""
    path = Path(target)
    if target.endswith((".py", ".pyi")) or path.exists() or os.sep in target or "/" in target:
        if not path.is_file():
            raise LoadError(f"{target}: no such file")
        if path.suffix != ".py":
            raise LoadError(f"{target}: not a Python module (expected a .py file)")
        file = path.resolve()
        parts = [file.stem]
        folder = file.parent
        while (folder / "__init__.py").is_file() and folder.parent != folder:
            parts.insert(0, folder.name)
            folder = folder.parent
        if not all(p.isidentifier() for p in parts):
            raise LoadError(f"{target}: {'.'.join(parts)!r} is not an importable module name")
        return Located(".".join(parts), file, folder)
    parts = target.split(".")
    if not all(p.isidentifier() for p in parts):
        raise LoadError(f"{target!r} is neither a .py file nor a dotted module name")
    # Search the folders without importing the parent packages: their __init__ may import
    # the generated module, which must only happen once the placeholder is in place.
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or os.getcwd())
        candidate = base.joinpath(*parts[:-1], parts[-1] + ".py")
        packages = [base.joinpath(*parts[:i]) for i in range(1, len(parts))]
        if candidate.is_file() and all((p / "__init__.py").is_file() for p in packages):
            return Located(target, candidate.resolve(), base.resolve())
    raise LoadError(f"cannot find module {target!r} (run from the folder it imports from)")


@contextlib.contextmanager
def _on_path(root: Path | None) -> Iterator[None]:
    if root is None or str(root) in sys.path:
        yield
        return
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))


def module_names_for(output: Path, roots: Sequence[str]) -> set[str]:
    """Dotted names under which ``output`` (a generated module path) could be imported."""
    names: set[str] = set()
    file = output.resolve()
    for entry in roots:
        try:
            base = Path(entry or os.getcwd()).resolve()
            relative = file.relative_to(base)
        except (ValueError, OSError):
            continue
        parts = (
            [*relative.parent.parts, relative.stem] if relative.parent.parts else [relative.stem]
        )
        if all(p.isidentifier() for p in parts):
            names.add(".".join(parts))
    return names


class _Placeholder(types.ModuleType):
    """Stands in for a generated module: any public name is a fresh TaskContext subclass."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        cls = type(
            name,
            (TaskContext,),
            {"__slots__": (), "__module__": self.__name__, "__molexp_placeholder__": name},
        )
        setattr(self, name, cls)
        return cls


class _PlaceholderLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _Placeholder(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__molexp_placeholder__"] = True


class _PlaceholderFinder(importlib.abc.MetaPathFinder):
    def __init__(self, names: set[str], files: set[Path]) -> None:
        self.names = names
        self.files = files
        self.stems = {f.stem for f in files}
        self.served: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        hit = fullname in self.names
        if not hit and fullname.rpartition(".")[2] in self.stems:
            # Another spelling of the same file (a different sys.path root).
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            origin = spec.origin if spec is not None else None
            hit = origin is not None and Path(origin).resolve() in self.files
        if not hit:
            return None
        self.served.add(fullname)
        return importlib.machinery.ModuleSpec(fullname, _PlaceholderLoader(), is_package=False)


@contextlib.contextmanager
def placeholder_imports(
    outputs: Sequence[Path], extra_names: Sequence[str] = ()
) -> Iterator[set[str]]:
    """While active, importing any of ``outputs`` (or ``extra_names``) yields a placeholder.

    Yields the set of module names that were served, filled as imports happen.
    """
    files = {p.resolve().with_suffix(".py") for p in outputs}
    names: set[str] = set(extra_names)
    for out in files:
        names |= module_names_for(out, sys.path)
    stale = [n for n in names if n in sys.modules]
    saved = {n: sys.modules.pop(n) for n in stale}
    finder = _PlaceholderFinder(names, files)
    sys.meta_path.insert(0, finder)
    try:
        yield finder.served
    finally:
        sys.meta_path.remove(finder)
        for name in finder.served:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def import_target(
    located: Located, outputs: Sequence[Path], extra_names: Sequence[str] = ()
) -> LoadedModule:
    """Import the workflow module with placeholders standing in for ``outputs``."""
    with _on_path(located.root), placeholder_imports(outputs, extra_names):
        try:
            module = importlib.import_module(located.name)
        except SyntaxError as exc:
            raise LoadError(
                f"{exc.filename}:{exc.lineno}: syntax error while importing "
                f"{located.name}: {exc.msg}"
            ) from exc
        except Exception as exc:
            raise LoadError(
                f"{located.file}: importing {located.name} failed: {type(exc).__name__}: {exc}"
            ) from exc
    return LoadedModule(located.name, located.file, module)


def find_workflows(loaded: LoadedModule, name: str | None = None) -> list[Workflow[Any, Any, Any]]:
    """The module's Workflow objects in definition order (or the one named ``name``)."""
    found: list[Workflow[Any, Any, Any]] = []
    attrs_of: dict[int, str] = {}
    for attr, value in vars(loaded.module).items():
        if isinstance(value, Workflow) and all(value is not w for w in found):
            found.append(value)
            attrs_of[id(value)] = attr
    if name is not None:
        chosen = [w for w in found if w.name == name or attrs_of[id(w)] == name]
        if not chosen:
            known = ", ".join(repr(w.name) for w in found) or "none"
            raise LoadError(f"{loaded.file}: no workflow named {name!r} (found: {known})")
        return chosen[:1]
    if not found:
        raise LoadError(
            f"{loaded.file}: module {loaded.name} defines no molexp Workflow "
            "(a module-level `wf = Workflow(...)`)"
        )
    names = [w.name for w in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LoadError(
            f"{loaded.file}: several workflows are named {', '.join(map(repr, dupes))}; "
            "give them distinct names or pick one with --workflow"
        )
    return found
