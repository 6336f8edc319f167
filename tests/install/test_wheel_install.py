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
    fresh_venv,
    imported_from,
    install_tools_and_generate,
    site_packages,
)

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
