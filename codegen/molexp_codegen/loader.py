"""Import a workflow module for generation, even before its generated module exists.

Task modules import their contexts from the generated module (``from .workflow_contexts
import TrainContext``), which does not exist on a fresh checkout and may name contexts the
graph no longer has. While the workflow module is imported, a meta path finder answers
the import of the *target* generated module (and only that one) with a placeholder whose
every public attribute is a fresh context class. It is an ``ActorContext`` subclass generic
in ``SendT``, like a generated actor context, so ``Actor[MonitorContext[Stats], ...]``
imports and the generator reads the send type ``Stats`` from it; a task using it as a
plain ``TaskContext`` does not notice. The generator never reads the
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

from molexp.context import ActorContext, SendT
from molexp.workflow.errors import WorkflowLoadError
from molexp.workflow.graph import Workflow
from molexp.workflow.loader import LoadedModule, Located, import_located, on_path
from molexp.workflow.loader import find_workflows as _find_workflows
from molexp.workflow.loader import locate as _locate
from molexp_codegen.errors import LoadError

__all__ = [
    "LoadedModule",
    "Located",
    "find_workflows",
    "import_target",
    "locate",
    "module_names_for",
    "placeholder_imports",
]


def locate(target: str) -> Located:
    """``path/to/workflow.py`` or ``package.module`` (see ``molexp.workflow.loader``)."""
    try:
        return _locate(target)
    except WorkflowLoadError as exc:
        raise LoadError(str(exc)) from exc


def find_workflows(loaded: LoadedModule, name: str | None = None) -> list[Workflow[Any, Any, Any]]:
    """The workflows the module defines, in definition order (or the one named ``name``).

    A workflow the module imports from another module is not its own: generating it here
    would duplicate the other module's contexts and prefix every context with its workflow's
    name. It is generated only when named (``--workflow``)."""
    try:
        found = _find_workflows(loaded, name)
    except WorkflowLoadError as exc:
        raise LoadError(str(exc)) from exc
    if name is not None:
        return found
    own = [w for w in found if w.module in (None, loaded.name)]
    if not own:
        imported = ", ".join(f"{w.name!r} (from {w.module})" for w in found)
        raise LoadError(
            f"{loaded.file}: module {loaded.name} defines no workflow of its own; it imports "
            f"{imported}: generate that module, or name one with --workflow"
        )
    return own


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
    """Stands in for a generated module: any public name is a fresh context class."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        namespace = {"__slots__": (), "__module__": self.__name__, "__molexp_placeholder__": name}
        cls = types.new_class(
            name,
            (ActorContext[Any, Any, Any, Any, SendT],),  # type: ignore[valid-type]
            exec_body=lambda ns: ns.update(namespace),
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
    with on_path(located.root), placeholder_imports(outputs, extra_names):
        try:
            return import_located(located)
        except WorkflowLoadError as exc:
            raise LoadError(str(exc)) from exc
