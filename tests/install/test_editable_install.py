"""Slow end-to-end: the README's ``pip install -e .`` in a fresh venv, seen by static tools
from the user's own folder (see install_helpers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from install_helpers import (
    REPO,
    UserEnv,
    assert_basedpyright_reports_the_edge,
    assert_molexp_check_names_the_edge,
    assert_mypy_strict_reports_the_edge,
    fresh_venv,
    imported_from,
    install_tools_and_generate,
    site_packages,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> UserEnv:
    user = fresh_venv(tmp_path_factory.mktemp("editable"))
    user.pip("-e", ".", cwd=REPO)  # the README's command, from the checkout
    install_tools_and_generate(user)
    return user


def test_the_editable_install_is_a_static_path(user: UserEnv) -> None:
    """A plain .pth path (what mypy, pyright and IDEs follow), not an import-hook finder."""
    site = site_packages(user)
    assert not list(site.glob("__editable__*finder*.py"))
    paths = {line.strip() for pth in site.glob("*.pth") for line in pth.read_text().splitlines()}
    assert str(REPO) in paths and str(REPO / "codegen") in paths, paths
    assert imported_from(user, "molexp") == REPO / "molexp" / "__init__.py"
    assert imported_from(user, "molexp_codegen").parent == REPO / "codegen" / "molexp_codegen"


def test_plain_mypy_strict_imports_molexp_and_reports_the_broken_edge(user: UserEnv) -> None:
    assert_mypy_strict_reports_the_edge(user)


def test_basedpyright_imports_molexp_and_reports_the_broken_edge(user: UserEnv) -> None:
    assert_basedpyright_reports_the_edge(user)


def test_molexp_check_needs_no_search_path_patch(user: UserEnv) -> None:
    assert_molexp_check_names_the_edge(user)


def test_the_project_folder_is_outside_the_checkout(user: UserEnv) -> None:
    assert not Path(user.project).resolve().is_relative_to(REPO)
