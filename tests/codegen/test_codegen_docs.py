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


def test_readme_fan_in_and_quickstart_pass_molexp_check_and_basedpyright(tmp_path: Path) -> None:
    """The README's keyed fan-in (`Report` over `dict[str, float]`) and the quickstart's
    (`dict[str, Scan]`) are homogeneous fan-ins: generated, then clean under
    `molexp check --strict` and basedpyright strict."""
    from codegen_helpers import run_pyright

    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    report = next(b for b in blocks if "class Report(" in b)
    flows = {
        "readme_flow": report.split("result = asyncio.run")[0]
        .replace("import asyncio\n\n", "")
        .replace(", WorkflowRuntime", ""),
        "quick_flow": (REPO / "examples" / "quickstart.py").read_text(),
    }
    for package, text in flows.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "workflow.py").write_text(text)
        gen = molexp("gen", f"{package}/workflow.py", cwd=tmp_path)
        assert gen.returncode == 0, gen.stderr
        check = molexp("check", f"{package}/workflow.py", "--mypy-arg=--strict", cwd=tmp_path)
        assert check.returncode == 0, check.stdout + check.stderr
    assert run_pyright([tmp_path / p for p in flows], cwd=tmp_path, extra_paths=[tmp_path]) == []
