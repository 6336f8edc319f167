"""docs/typecheckers.md stays true: every configuration block parses, and each one that
configures or runs a checker is applied to a small workflow package (install_helpers'
``labflow``, its edge fixed) in a temporary folder, where the checker must pass."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml
from install_helpers import PROJECT, REPO

DOC = REPO / "docs" / "typecheckers.md"
BLOCK = re.compile(r"^```(?P<lang>json|toml|yaml)\n(?P<body>.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list[str]:
    return [m["body"] for m in BLOCK.finditer(DOC.read_text()) if m["lang"] == lang]


def _tool(name: str) -> list[str]:
    """A command of the docs, run with this environment's tools."""
    if name in ("molexp", "mypy"):
        return [sys.executable, "-m", name]
    exe = shutil.which(name, path=str(Path(sys.executable).parent))
    assert exe is not None, f"{name} is a dev dependency: pip install -e '.[dev]'"
    return [exe]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    return subprocess.run(
        [*_tool(argv[0]), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs-project")
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    workflow = root / "labflow" / "workflow.py"
    text = workflow.read_text().replace(
        "wf.add(Analyze(), after=build)", "wf.add(Analyze(), after=simulate)"
    )
    workflow.write_text(text)
    proc = _run(["molexp", "gen", "labflow/workflow.py"], root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture
def project(generated: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "project"))


def test_the_doc_has_every_block() -> None:
    assert [len(_blocks(lang)) for lang in ("json", "toml", "yaml")] == [2, 1, 2]


def test_vscode_settings_name_a_real_mode() -> None:
    settings = json.loads(_blocks("json")[0])
    assert settings["python.analysis.typeCheckingMode"] in ("off", "basic", "standard", "strict")
    assert settings["python.analysis.diagnosticMode"] in ("openFilesOnly", "workspace")


def test_mypy_settings_check_the_package_clean(project: Path) -> None:
    config = _blocks("toml")[0]
    assert tomllib.loads(config)["tool"]["mypy"]["strict"] is True
    (project / "pyproject.toml").write_text(config)
    proc = _run(["mypy"], project)
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stdout + proc.stderr
    assert "6 source files" in proc.stdout, proc.stdout  # the edges module included


def test_pyright_config_checks_the_package_clean(project: Path) -> None:
    (project / "pyrightconfig.json").write_text(_blocks("json")[1])
    proc = _run(["basedpyright"], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout, proc.stdout


def test_pre_commit_hook_runs_molexp_check(project: Path) -> None:
    config = yaml.safe_load(_blocks("yaml")[0])
    (hook,) = config["repos"][0]["hooks"]
    assert hook["language"] == "system" and hook["pass_filenames"] is False
    proc = _run([*shlex.split(hook["entry"]), *hook["args"]], project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "labflow/workflow_edges.py is up to date" in proc.stdout


def test_ci_recipe_steps_pass_on_the_package(project: Path) -> None:
    job = yaml.safe_load(_blocks("yaml")[1])["jobs"]["check"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12", "3.13"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[0].startswith("pip install")
    for command in runs[1:]:  # the install step is the CI machine's business
        proc = _run(shlex.split(command), project)
        assert proc.returncode == 0, f"{command}:\n{proc.stdout}{proc.stderr}"
