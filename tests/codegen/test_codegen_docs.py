"""The generator's docs stay true: every ```py excerpt that starts with a ``# <path>``
comment must appear verbatim in that file, and the documented commands work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from codegen_helpers import REPO, molexp

DOCS = [REPO / "docs" / "codegen.md", REPO / "README.md"]
EXCERPT = re.compile(r"^```py\n# (?P<path>\S+\.pyi?)\n(?P<body>.*?)^```", re.DOTALL | re.MULTILINE)


def _excerpts() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for match in EXCERPT.finditer(doc.read_text()):
            found.append((doc.name, match["path"], match["body"]))
    return found


def test_docs_have_excerpts() -> None:
    assert len(_excerpts()) >= 5


@pytest.mark.parametrize(("doc", "path", "body"), _excerpts(), ids=lambda v: str(v)[:40])
def test_excerpt_is_verbatim(doc: str, path: str, body: str) -> None:
    assert body in (REPO / path).read_text(), f"{doc}: excerpt of {path} is out of date"


def test_documented_check_command_passes(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    assert "molexp check examples/typed/workflow.py --mypy-arg=--strict" in text
    proc = molexp(
        "check",
        "examples/typed/workflow.py",
        "--mypy-arg=--strict",
        f"--mypy-arg=--cache-dir={tmp_path / 'mypy-cache'}",  # not .mypy_cache in the repo
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
