"""Slow end-to-end: molexp installed from a built wheel into a fresh venv, seen by static
tools from the user's own folder (see install_helpers)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from install_helpers import (
    REPO,
    UserEnv,
    assert_basedpyright_reports_the_edge,
    assert_molexp_check_names_the_edge,
    assert_mypy_strict_reports_the_edge,
    basedpyright_errors,
    enclosing_check,
    fresh_venv,
    imported_from,
    install_tools_and_generate,
    site_packages,
)
from lab_study import MISWIRED_EDGE, STUDY, build_and_install_lab, write_tree

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def wheel_and_user(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, UserEnv]:
    root = tmp_path_factory.mktemp("wheel")
    user = fresh_venv(root)
    dist = root / "dist"
    proc = user.run(
        user.python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, REPO, cwd=root
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = dist.glob("molexp-*.whl")
    user.pip(wheel)
    install_tools_and_generate(user)
    return wheel, user


@pytest.fixture(scope="module")
def user(wheel_and_user: tuple[Path, UserEnv]) -> UserEnv:
    return wheel_and_user[1]


def test_the_wheel_ships_both_packages_typed_and_no_top_level_codegen(
    wheel_and_user: tuple[Path, UserEnv],
) -> None:
    wheel, user = wheel_and_user
    names = set(zipfile.ZipFile(wheel).namelist())
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"molexp", "molexp_codegen"}, tops
    assert {"molexp/py.typed", "molexp_codegen/py.typed"} <= names
    templates = {n for n in names if n.startswith("molexp_codegen/templates/")}
    assert "molexp_codegen/templates/contexts.py.jinja" in templates, templates
    site = site_packages(user)
    assert imported_from(user, "molexp").is_relative_to(site)
    assert imported_from(user, "molexp_codegen").is_relative_to(site)


def test_plain_mypy_strict_imports_molexp_and_reports_the_broken_edge(user: UserEnv) -> None:
    assert_mypy_strict_reports_the_edge(user)


def test_basedpyright_imports_molexp_and_reports_the_broken_edge(user: UserEnv) -> None:
    assert_basedpyright_reports_the_edge(user)


def test_molexp_check_needs_no_search_path_patch(user: UserEnv) -> None:
    assert_molexp_check_names_the_edge(user)


# -- a lab's wheel in a study's venv (issue 11, item 5; see lab_study) ------------------------


@pytest.fixture(scope="module")
def study(user: UserEnv, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The lab's wheel installed into the user's venv (the one venv of this module); the
    study's folder, generated. Returns (the lab wheel, the study folder)."""
    root = tmp_path_factory.mktemp("lab")
    wheel = build_and_install_lab(user, root)
    folder = write_tree(root / "study-project", STUDY)
    for module in ("study/workflow.py", "miswired/workflow.py"):
        proc = user.run("molexp", "gen", module, cwd=folder)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return wheel, folder


def test_the_lab_wheel_ships_its_generated_contexts_and_installs_non_editable(
    user: UserEnv, study: tuple[Path, Path]
) -> None:
    wheel, _ = study
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "labflows/py.typed",
        "labflows/workflow_contexts.py",
        "labflows/workflow_edges.py",
    } <= names, names
    assert imported_from(user, "labflows.workflow_contexts").is_relative_to(site_packages(user))


def test_the_study_using_the_lab_task_is_clean_and_runs(
    user: UserEnv, study: tuple[Path, Path]
) -> None:
    _, folder = study
    proc = user.run("molexp", "check", "study/workflow.py", "--mypy-arg=--strict", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    errors_bp, _ = basedpyright_errors(user, "study", cwd=folder)
    assert errors_bp == [], errors_bp
    run = (
        "import asyncio; from molexp import WorkflowRuntime; from study.workflow import wf, relax; "
        "r = asyncio.run(WorkflowRuntime().execute(wf, inputs=2)); r.raise_for_status(); "
        "print(r.output(relax).energy, r.state.relaxations, r.state.label)"
    )
    proc = user.run(user.python, "-c", run, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["-8.2", "1", "scan"], proc.stdout


def test_a_miswired_study_gets_the_real_types_from_both_checkers(
    user: UserEnv, study: tuple[Path, Path]
) -> None:
    _, folder = study
    proc = user.run("molexp", "check", "miswired/workflow.py", "--mypy-arg=--strict", cwd=folder)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 1, proc.stdout
    assert f"[in {MISWIRED_EDGE}]" in errors[0], proc.stdout
    # The real mismatch, not two nominal context classes.
    assert "Molecule" in errors[0] and "Structure" in errors[0], errors
    assert "RelaxContext" not in errors[0], errors

    found, _ = basedpyright_errors(user, "miswired", cwd=folder)
    assert len(found) == 1 and found[0]["rule"] == "reportArgumentType", found
    message = str(found[0]["message"])
    # Its first line names the two aliases; the reason names the real types.
    assert '"Molecule" is not assignable to "Structure"' in message, message
    start = found[0]["range"]["start"]["line"]  # type: ignore[index]
    assert enclosing_check(Path(str(found[0]["file"])), int(start) + 1) == MISWIRED_EDGE


def test_molexp_gen_never_rewrites_an_installed_package(
    user: UserEnv, study: tuple[Path, Path]
) -> None:
    _, folder = study
    installed = imported_from(user, "labflows.workflow_contexts")
    before = (installed.read_bytes(), installed.stat().st_mtime_ns)
    # Its generated module is current (what the lab shipped) ...
    proc = user.run("molexp", "gen", "--check", "labflows.workflow", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ... and gen refuses to write there, whether asked for the module or by -o.
    for argv in (
        ("labflows.workflow",),
        ("study/workflow.py", "-o", str(installed)),
    ):
        proc = user.run("molexp", "gen", *argv, cwd=folder)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and "installed package" in lines[0], proc.stderr
        assert str(installed) in lines[0] and "never rewrites" in lines[0], lines
        assert not proc.stdout.startswith("wrote"), proc.stdout
    assert (installed.read_bytes(), installed.stat().st_mtime_ns) == before
    leftovers = [p.name for p in installed.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], leftovers
