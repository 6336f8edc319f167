"""The workspace layer knows nothing of workflows, and inside it imports point down only.

``molexp/workspace`` is layered (see docs/workspace.md, "Inside the workspace layer"):
core files and records <- the index <- the store of a root <- recording strategies <-
handles. These tests read the modules' source (``ast``), so they hold for every code path,
not only for what a test happens to import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import molexp.workspace

FORBIDDEN = ("molexp.workflow", "molexp.runtime", "molexp.context", "molexp.cli", "molexp_codegen")
FOLDER = Path(molexp.workspace.__file__).parent
PACKAGE = "molexp.workspace"

LAYERS: dict[str, tuple[str, ...]] = {
    "core": (
        "errors",
        "names",
        "layout",
        "atomic",
        "group_commit",
        "encoding",
        "records",
        "storage",
        "manifest",
        "results",
        "liveness",
        "syncer",
        "assets",
        "runfile",
        "recovery",
        "logfiles",
    ),
    "index": ("index_rows", "index_db", "index_batch", "index"),
    "store": ("runs", "reconcile", "store"),
    "recording": ("recording", "registration", "local_recorder", "staged_recorder"),
    "handles": (
        "run_context",
        "session",
        "run",
        "scope_assets",
        "hierarchy",
        "catalog",
        "workspace",
        "staging",
        "__init__",
    ),
}
LEVEL = {module: level for level, modules in enumerate(LAYERS.values()) for module in modules}
LAYER = {module: name for name, modules in LAYERS.items() for module in modules}


def _modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(FOLDER.glob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import executed at run time: at module level or inside a function (both are
    edges), but not under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def _edges(tree: ast.Module) -> list[tuple[str, int, tuple[str, ...]]]:
    """(imported workspace module, line, names imported from it) of each runtime import."""
    edges = []
    for node in _runtime_imports(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(PACKAGE + "."):
                names = tuple(alias.name for alias in node.names)
                edges.append((node.module.removeprefix(PACKAGE + "."), node.lineno, names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    edges.append((alias.name.removeprefix(PACKAGE + "."), node.lineno, ()))
    return edges


def test_workspace_imports_only_lower_layers() -> None:
    offenders = []
    for module in sorted(FOLDER.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{module.name}:{node.lineno} imports {name}"
                for name in names
                if name.startswith(FORBIDDEN)
            ]
    assert offenders == []


def test_every_workspace_module_has_a_layer() -> None:
    assert sorted(_modules()) == sorted(LEVEL), "place new modules in LAYERS (and the docs)"


def test_imports_inside_the_workspace_point_down_only() -> None:
    """A module imports (outside ``TYPE_CHECKING``) only modules of its layer or below."""
    offenders = [
        f"{module}.py:{line} ({LAYER[module]}) imports {target} ({LAYER.get(target)})"
        for module, tree in _modules().items()
        for target, line, _ in _edges(tree)
        if LEVEL.get(target, len(LAYERS)) > LEVEL[module]
    ]
    assert offenders == []


def test_no_import_cycle_among_workspace_modules() -> None:
    graph = {module: {t for t, _, _ in _edges(tree)} for module, tree in _modules().items()}
    done: set[str] = set()
    cycles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            walk(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
    assert cycles == []


def test_no_private_name_crosses_a_module_boundary() -> None:
    """No ``from molexp.workspace.x import _private``, and no ``obj._private`` on another
    module's object (an attribute access is allowed only for private names that the
    accessing module defines itself, as a class's own helpers do)."""
    offenders = []
    for module, tree in _modules().items():
        for target, line, names in _edges(tree):
            offenders += [
                f"{module}.py:{line} imports {target}.{n}" for n in names if n.startswith("_")
            ]
        own = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        } | {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and node.attr not in own
            ):
                offenders.append(f"{module}.py:{node.lineno} reaches into .{node.attr}")
    assert offenders == []


def test_no_class_is_over_300_lines() -> None:
    sizes = {
        f"{module}.{node.name}": (node.end_lineno or node.lineno) - node.lineno + 1
        for module, tree in _modules().items()
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    assert {name: size for name, size in sizes.items() if size > 300} == {}
