"""Find and import a workflow module named on the command line, and its Workflow objects.

``path/to/workflow.py`` is imported pytest-style: the first folder up without an
``__init__.py`` goes on ``sys.path`` and the module is imported under its dotted package
name, so its relative imports work. A dotted ``package.module`` is looked up from the
current folder and ``sys.path``. ``molexp gen`` wraps the import with placeholders for
generated modules that do not exist yet; ``molexp run`` and ``molexp graph`` import as is.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from molexp.workflow.errors import WorkflowLoadError
from molexp.workflow.graph import Workflow

__all__ = [
    "LoadedModule",
    "Located",
    "find_workflows",
    "import_located",
    "load_workflow",
    "locate",
    "on_path",
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
    """``path/to/workflow.py`` or a dotted ``package.module`` importable from here."""
    path = Path(target)
    if target.endswith((".py", ".pyi")) or path.exists() or os.sep in target or "/" in target:
        if not path.is_file():
            raise WorkflowLoadError(f"{target}: no such file")
        if path.suffix != ".py":
            raise WorkflowLoadError(f"{target}: not a Python module (expected a .py file)")
        file = path.resolve()
        parts = [file.stem]
        folder = file.parent
        while (folder / "__init__.py").is_file() and folder.parent != folder:
            parts.insert(0, folder.name)
            folder = folder.parent
        if not all(p.isidentifier() for p in parts):
            raise WorkflowLoadError(
                f"{target}: {'.'.join(parts)!r} is not an importable module name"
            )
        return Located(".".join(parts), file, folder)
    parts = target.split(".")
    if not all(p.isidentifier() for p in parts):
        raise WorkflowLoadError(f"{target!r} is neither a .py file nor a dotted module name")
    # Search the folders without importing the parent packages: their __init__ may import
    # a generated module, which `molexp gen` must intercept first.
    for entry in [os.getcwd(), *sys.path]:
        base = Path(entry or os.getcwd())
        candidate = base.joinpath(*parts[:-1], parts[-1] + ".py")
        packages = [base.joinpath(*parts[:i]) for i in range(1, len(parts))]
        if candidate.is_file() and all((p / "__init__.py").is_file() for p in packages):
            return Located(target, candidate.resolve(), base.resolve())
    raise WorkflowLoadError(f"cannot find module {target!r} (run from the folder it imports from)")


@contextlib.contextmanager
def on_path(root: Path | None) -> Iterator[None]:
    """``root`` first on ``sys.path`` for the duration (if it is not there already)."""
    if root is None or str(root) in sys.path:
        yield
        return
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(root))


def import_located(located: Located) -> LoadedModule:
    """Import the located module; errors name the file (and line, for syntax errors)."""
    with on_path(located.root):
        try:
            module = importlib.import_module(located.name)
        except SyntaxError as exc:
            raise WorkflowLoadError(
                f"{exc.filename}:{exc.lineno}: syntax error while importing "
                f"{located.name}: {exc.msg}"
            ) from exc
        except SystemExit as exc:
            # Script code at module level (argparse, sys.exit()): importing must not end
            # the command with the script's exit status and no run.
            raise WorkflowLoadError(
                f"{located.file}: importing {located.name} called sys.exit({exc.code!r})"
                f"{_raised_at(exc, located.file)}; a workflow module must not exit when imported (put "
                "script code under `if __name__ == '__main__':`)"
            ) from exc
        except Exception as exc:
            raise WorkflowLoadError(
                f"{located.file}: importing {located.name} failed: {type(exc).__name__}: {exc}"
                f"{_raised_at(exc)}"
            ) from exc
    return LoadedModule(located.name, located.file, module)


def _raised_at(exc: BaseException, prefer: Path | None = None) -> str:
    """`` (raised at path/tasks.py:3)``: the innermost frame, where the user's bug is, or
    the innermost line of ``prefer`` (the module whose import called e.g. argparse's exit)."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    if prefer is not None:
        user = [f for f in user if Path(f.filename) == prefer] or user
    if not user:
        return ""
    frame = user[-1]
    return f" (raised at {frame.filename}:{frame.lineno})"


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
            raise WorkflowLoadError(f"{loaded.file}: no workflow named {name!r} (found: {known})")
        return chosen[:1]
    if not found:
        raise WorkflowLoadError(
            f"{loaded.file}: module {loaded.name} defines no molexp Workflow "
            "(a module-level `wf = Workflow(...)`)"
        )
    names = [w.name for w in found]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise WorkflowLoadError(
            f"{loaded.file}: several workflows are named {', '.join(map(repr, dupes))}; "
            "give them distinct names or pick one by name"
        )
    return found


def load_workflow(target: str) -> tuple[Workflow[Any, Any, Any], LoadedModule]:
    """``path/workflow.py[:name]`` (or ``package.module[:name]``) -> the one workflow it means."""
    spec, _, name = target.partition(":")
    loaded = import_located(locate(spec))
    workflows = find_workflows(loaded, name or None)
    if len(workflows) > 1:
        names = ", ".join(repr(w.name) for w in workflows)
        raise WorkflowLoadError(
            f"{loaded.file} defines several workflows ({names}); pick one with {spec}:NAME"
        )
    return workflows[0], loaded
