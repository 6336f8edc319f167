"""Golden files: the generated modules of tests/codegen/cases, compared exactly.

Regenerate the expected output after an intended change with:

    MOLEXP_REGEN_GOLDEN=1 python -m pytest tests/codegen/test_codegen_golden.py

then review the diff of tests/codegen/golden/ like any other change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from codegen_helpers import (
    GOLDEN,
    RUNTIME_CASES,
    STUB_CASES,
    run_mypy,
    run_pyright,
    subprocess_env,
)

REGEN = os.environ.get("MOLEXP_REGEN_GOLDEN") == "1"


def _expected_files() -> list[tuple[str, str]]:
    files = [(case, f"cases/{case}/workflow_contexts.py") for case in RUNTIME_CASES]
    files += [(case, f"cases/{case}/workflow_edges.py") for case in RUNTIME_CASES]
    files += [
        ("stubs", f"stubs/{Path(module).stem}_contexts.pyi") for module in STUB_CASES.values()
    ]
    return files


@pytest.mark.parametrize(("case", "relative"), _expected_files())
def test_generated_file_matches_golden(generated: Path, case: str, relative: str) -> None:
    produced = generated / relative
    golden = GOLDEN / case / produced.name
    if REGEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced, golden)
    assert golden.is_file(), f"no golden file {golden}; run with MOLEXP_REGEN_GOLDEN=1"
    assert produced.read_text() == golden.read_text(), (
        f"{relative} differs from {golden}; if intended, regenerate with MOLEXP_REGEN_GOLDEN=1"
    )


def test_no_unexpected_golden_folders() -> None:
    expected = {case for case, _ in _expected_files()}
    present = {p.name for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert present == expected


def test_goldens_pass_mypy_strict_with_their_tasks(generated: Path) -> None:
    cases = generated / "cases"
    errors = run_mypy(
        [cases / c for c in [*RUNTIME_CASES, *STUB_CASES]],
        cwd=cases,
        mypy_path=[generated / "stubs"],
    )
    assert errors == []


def test_goldens_pass_basedpyright_strict(generated: Path) -> None:
    cases = generated / "cases"
    targets = [cases / c for c in [*RUNTIME_CASES, *STUB_CASES]] + [generated / "stubs"]
    errors = run_pyright(targets, cwd=generated, extra_paths=[cases, generated / "stubs"])
    assert errors == []


@pytest.mark.parametrize("mode", ["recommended", "standard"])
def test_goldens_are_clean_in_basedpyright_default_and_standard_modes(
    generated: Path, mode: str
) -> None:
    """What Pylance-like editors run (``recommended`` is basedpyright's default): not one
    diagnostic, warnings included, in a generated module, and no import cycle anywhere
    (the task modules import the contexts; the edge checks live in their own module)."""
    cases = generated / "cases"
    targets = [cases / c for c in [*RUNTIME_CASES, *STUB_CASES]] + [generated / "stubs"]
    found = run_pyright(
        targets,
        cwd=generated,
        extra_paths=[cases, generated / "stubs"],
        mode=mode,
        severities=("error", "warning", "information"),
    )
    generated_files = ("_contexts.py", "_contexts.pyi", "_edges.py")
    bad = [
        d
        for d in found
        if d.file.name.endswith(generated_files) or "reportImportCycles" in d.message
    ]
    assert bad == []


def test_goldens_are_ruff_formatted_and_pyflakes_clean() -> None:
    # ruff is a dev dependency: run it as a module so a missing install fails, never skips.
    files = sorted(
        str(p)
        for p in GOLDEN.rglob("*.py*")
        if p.name.endswith(("_contexts.py", "_contexts.pyi", "_edges.py"))
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--no-cache",  # not .ruff_cache in the repository
            "--isolated",
            "--check",
            "--line-length",
            "88",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "F,I001,RUF022,RUF100",
            # A case's package is first-party, as a user's own package is in their project
            # (the golden folders lack the task modules ruff would look for).
            "--config",
            f"lint.isort.known-first-party = {RUNTIME_CASES!r}",
            *files,
        ],
        cwd=GOLDEN,  # outside the repo root, where molexp would count as first-party
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


_RUN_ALL = """
import asyncio, importlib, sys
from molexp import Workflow, WorkflowRuntime
sys.path.insert(0, sys.argv[1])
inputs = {"root-input": None, "relax": 1.5, "scan": 2.5, "stubbed": 3, "stream": 20, "streamed": 5}
for name in sys.argv[2:]:
    module = importlib.import_module(name)
    for wf in [v for v in vars(module).values() if isinstance(v, Workflow)]:
        deps = getattr(importlib.import_module(name.split(".")[0] + ".models"), "Deps", None) \
            if wf.deps_type is not None else None
        value = inputs.get(wf.name)
        if wf.name == "root-input":
            from cg_root_input.models import RunConfig
            value = RunConfig(300.0, 10)
        result = asyncio.run(WorkflowRuntime().execute(
            wf, inputs=value, deps=deps("lammps") if deps else None))
        result.raise_for_status()
        print(wf.name, "ok")
"""


def test_generated_modules_import_and_run(generated: Path) -> None:
    """The generated modules are importable at runtime (no cycles) and the workflows run."""
    modules = [f"{c}.workflow" for c in RUNTIME_CASES] + [
        f"{c}.{Path(m).stem}" for c, m in STUB_CASES.items()
    ]
    proc = subprocess.run(
        [sys.executable, "-c", _RUN_ALL, str(generated / "cases"), *modules],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(" ok") == len(modules) + 1  # cg_multi holds two workflows
