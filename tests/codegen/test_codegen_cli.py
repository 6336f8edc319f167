"""``molexp gen`` / ``molexp check`` through the real CLI (subprocesses).

Covers bootstrap (no generated module yet, or a stale one that cannot even be imported),
the unchanged-graph no-rewrite rule (mtime kept), and every ``--check`` exit code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from codegen_helpers import CASES, GOLDEN, REPO, molexp, subprocess_env


def _case(tmp_path: Path, name: str = "cg_chain") -> Path:
    shutil.copytree(
        CASES / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*_contexts.py")
    )
    return tmp_path / name


def test_bootstrap_from_no_generated_module(tmp_path: Path) -> None:
    case = _case(tmp_path)
    assert not (case / "workflow_contexts.py").exists()
    proc = molexp("gen", "cg_chain/workflow.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote cg_chain/workflow_contexts.py" in proc.stdout
    assert (case / "workflow_contexts.py").stat().st_mode & 0o777 == 0o644
    expected = (GOLDEN / "cg_chain" / "workflow_contexts.py").read_text()
    assert (case / "workflow_contexts.py").read_text() == expected


def test_bootstrap_from_a_stale_module_that_cannot_be_imported(tmp_path: Path) -> None:
    case = _case(tmp_path)
    stale = case / "workflow_contexts.py"
    stale.write_text("from nowhere import OldContext  # stale\nraise RuntimeError('stale')\n")
    proc = molexp("gen", "cg_chain/workflow.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stale.read_text() == (GOLDEN / "cg_chain" / "workflow_contexts.py").read_text()


def test_unchanged_graph_does_not_rewrite(tmp_path: Path) -> None:
    case = _case(tmp_path)
    assert molexp("gen", "cg_chain/workflow.py", cwd=tmp_path).returncode == 0
    target = case / "workflow_contexts.py"
    os.utime(target, (1_000_000_000, 1_000_000_000))
    proc = molexp("gen", "cg_chain/workflow.py", cwd=tmp_path)
    assert proc.returncode == 0
    assert "is up to date" in proc.stdout
    assert target.stat().st_mtime == 1_000_000_000


def test_check_exit_codes_clean_edited_deleted(tmp_path: Path) -> None:
    case = _case(tmp_path)
    target = case / "workflow_contexts.py"
    assert molexp("gen", "cg_chain/workflow.py", cwd=tmp_path).returncode == 0
    clean = molexp("gen", "--check", "cg_chain/workflow.py", cwd=tmp_path)
    assert (clean.returncode, clean.stdout.strip()) == (
        0,
        "cg_chain/workflow_contexts.py is up to date\ncg_chain/workflow_edges.py is up to date",
    )

    target.write_text(
        target.read_text().replace("AnalyzeContext: TypeAlias", "AnalyseContext: TypeAlias")
    )
    edited = molexp("gen", "--check", "cg_chain/workflow.py", cwd=tmp_path)
    assert edited.returncode == 1
    assert "is stale" in edited.stdout
    assert (
        "-AnalyseContext: TypeAlias" in edited.stdout
        and "+AnalyzeContext: TypeAlias" in edited.stdout
    )
    assert "AnalyseContext" in target.read_text(), "--check must not write"

    target.unlink()
    deleted = molexp("gen", "--check", "cg_chain/workflow.py", cwd=tmp_path)
    assert deleted.returncode == 1
    assert "cg_chain/workflow_contexts.py is missing" in deleted.stdout
    assert not target.exists()

    edges = case / "workflow_edges.py"
    assert molexp("gen", "cg_chain/workflow.py", cwd=tmp_path).returncode == 0
    edges.write_text(edges.read_text().replace("upstream: Load", "upstream: Simulate"))
    stale_edges = molexp("gen", "--check", "cg_chain/workflow.py", cwd=tmp_path)
    assert stale_edges.returncode == 1
    assert "cg_chain/workflow_edges.py is stale" in stale_edges.stdout, stale_edges.stdout
    assert "cg_chain/workflow_contexts.py is up to date" in stale_edges.stdout


def test_check_reports_orphaned_generated_module(tmp_path: Path) -> None:
    case = _case(tmp_path)
    shutil.copyfile(case / "workflow.py", case / "old_flow.py")
    assert (
        molexp("gen", "cg_chain/workflow.py", "cg_chain/old_flow.py", cwd=tmp_path).returncode == 0
    )
    (case / "old_flow.py").unlink()
    proc = molexp("gen", "--check", "cg_chain/workflow.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert "cg_chain/old_flow_contexts.py is orphaned" in proc.stdout
    assert "cg_chain/old_flow_edges.py is orphaned" in proc.stdout


def test_errors_exit_2_and_name_the_task_and_type(tmp_path: Path) -> None:
    (tmp_path / "local_type.py").write_text(
        textwrap.dedent(
            """
            from molexp import Task, TaskContext, Workflow

            def make():
                class Local:
                    pass

                class Produce(Task[TaskContext[None, None, None], Local]):
                    async def execute(self, ctx: TaskContext[None, None, None]) -> Local:
                        return Local()

                return Produce()

            wf = Workflow("local")
            wf.add(make(), name="produce")
            """
        )
    )
    proc = molexp("gen", "local_type.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "task 'produce' (make.<locals>.Produce), output type" in proc.stderr
    assert "local_type.make.<locals>.Local" in proc.stderr
    assert "defined inside a function" in proc.stderr
    assert not (tmp_path / "local_type_contexts.py").exists()

    (tmp_path / "broken.py").write_text("import does_not_exist\n")
    proc = molexp("gen", "--check", "broken.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "broken.py: importing broken failed: ModuleNotFoundError" in proc.stderr

    (tmp_path / "empty.py").write_text("x = 1\n")
    proc = molexp("gen", "empty.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "defines no molexp Workflow" in proc.stderr

    proc = molexp("gen", "missing.py", cwd=tmp_path)
    assert (proc.returncode, proc.stderr.strip()) == (2, "molexp: error: missing.py: no such file")


def test_dotted_module_output_and_workflow_selection(tmp_path: Path) -> None:
    case = _case(tmp_path, "cg_multi")
    proc = molexp(
        "gen", "cg_multi.workflow", "--workflow", "relax", "-o", "relax_ctx.py", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "relax_ctx.py").read_text()
    assert "MinimizeContext: TypeAlias" in text and "Scan" not in text
    assert "from cg_multi/workflow.py: do not edit" in text
    proc = molexp("gen", "cg_multi.workflow", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (case / "workflow_contexts.py").read_text() == (
        GOLDEN / "cg_multi" / "workflow_contexts.py"
    ).read_text()
    proc = molexp("gen", "cg_multi.workflow", "--workflow", "nope", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no workflow named 'nope' (found: 'relax', 'scan')" in proc.stderr


@pytest.mark.parametrize(
    ("case", "module"), [("cg_stubbed", "stubbed_flow"), ("cg_stubbed_actors", "streamed_flow")]
)
def test_stubs_mode_and_its_check(tmp_path: Path, case: str, module: str) -> None:
    _case(tmp_path / "cases", case)
    source = f"cases/{case}/{module}.py"
    proc = molexp("gen", source, "--stubs", "stubs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    stub = tmp_path / "stubs" / f"{module}_contexts.pyi"
    assert stub.read_text() == (GOLDEN / "stubs" / stub.name).read_text()
    assert not (tmp_path / "cases" / case / f"{module}_contexts.py").exists()
    check = molexp("check", source, "--stubs", "stubs", "--mypy-arg=--strict", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Success: no issues found in 4 source files" in check.stdout  # + the edge checks


def test_molexp_check_runs_mypy_on_the_package(tmp_path: Path) -> None:
    _case(tmp_path)
    missing = molexp("check", "cg_chain/workflow.py", cwd=tmp_path)
    assert missing.returncode == 1
    assert molexp("gen", "cg_chain/workflow.py", cwd=tmp_path).returncode == 0
    proc = molexp("check", "cg_chain/workflow.py", "--mypy-arg=--strict", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def test_missing_jinja2_gives_the_install_hint(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['jinja2'] = None\n"
        "from molexp.cli.main import main\n"
        "sys.exit(main(['gen', 'x.py']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "pip install 'molexp[gen]'" in proc.stderr


def test_sdk_import_does_not_load_the_generator() -> None:
    code = (
        "import sys, molexp\n"
        "from molexp.cli.main import build_parser\n"
        "build_parser()\n"
        "loaded = [m for m in ('jinja2', 'mypy', 'codegen') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_the_commands(tmp_path: Path, flag: str) -> None:
    proc = molexp(flag, cwd=tmp_path)
    assert proc.returncode == 0
    assert "gen" in proc.stdout and "check" in proc.stdout


def test_bootstrap_when_the_package_init_imports_the_contexts(tmp_path: Path) -> None:
    """The placeholder is in place before any parent package is imported."""
    case = _case(tmp_path)
    init = case / "__init__.py"
    init.write_text(init.read_text() + "from cg_chain.workflow_contexts import AnalyzeContext\n")
    proc = molexp("gen", "cg_chain.workflow", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = (GOLDEN / "cg_chain" / "workflow_contexts.py").read_text()
    assert (case / "workflow_contexts.py").read_text() == expected


def test_two_modules_writing_one_stub_file_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    proc = molexp(
        "gen",
        "--stubs",
        str(stubs),
        "examples/lj_fluid/workflow.py",
        "examples/typed/workflow.py",
        cwd=REPO,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "would both write" in proc.stderr and "workflow_contexts.pyi" in proc.stderr
    assert not (stubs / "workflow_contexts.pyi").exists()
