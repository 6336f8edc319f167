"""Docs whose code runs: README/docs python blocks and every runnable example.

Every ```python block of README.md and docs/*.md runs, the blocks of one file in order in
one namespace (so a later block may use an earlier one's names), in a temporary folder.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PY_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = sorted(
    p
    for p in (ROOT / "examples").rglob("*.py")
    if 'if __name__ == "__main__":' in p.read_text() and "_contexts" not in p.stem
)


@pytest.mark.parametrize(
    "doc", [d for d in DOCS if PY_BLOCK.search(d.read_text())], ids=lambda p: p.name
)
def test_python_blocks_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"doc_{doc.stem}"}
    for number, block in enumerate(PY_BLOCK.findall(doc.read_text()), start=1):
        # dont_inherit: the blocks run as a user's script would, not under this module's
        # `from __future__ import annotations` (string annotations no module can resolve).
        code = compile(block, f"{doc.name} python block {number}", "exec", dont_inherit=True)
        exec(code, namespace)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_runs(example: Path) -> None:
    proc = subprocess.run(
        [sys.executable, example.name],
        cwd=example.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{example} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{example} printed nothing"


def test_quickstart_prints_the_minimum() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "minimum at r = 1.123 sigma, E = -1.0 epsilon" in proc.stdout


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^```bash\n(.*?)\n```", readme, re.S | re.M)
    assert len(commands) >= 2, "README must show the two set-up commands"
    assert commands[1].strip() in ci.splitlines(), "CI must run the README's test command"


def test_python_blocks_type_check_strictly(tmp_path: Path) -> None:
    """Users copy these blocks: they must pass mypy --strict as written."""
    files = []
    for doc in DOCS:
        blocks = PY_BLOCK.findall(doc.read_text())
        if blocks:
            target = tmp_path / f"doc_{doc.stem.replace('-', '_')}.py"
            target.write_text("\n".join(blocks))
            files.append(str(target))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--untyped-calls-exclude=distributed",  # Dask's own API is unannotated, not ours
            "--untyped-calls-exclude=ase",  # so is most of ASE's
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
