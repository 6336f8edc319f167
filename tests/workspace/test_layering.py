"""The workspace layer knows nothing of workflows: it never imports the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

import molexp.workspace

FORBIDDEN = ("molexp.workflow", "molexp.runtime", "molexp.context", "molexp.cli", "molexp_codegen")


def test_workspace_imports_only_lower_layers() -> None:
    folder = Path(molexp.workspace.__file__).parent
    offenders = []
    for module in sorted(folder.glob("*.py")):
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
