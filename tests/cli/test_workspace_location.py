"""``workspace = "DIR"`` in molexp.toml sets where runs go, relative to that file, found from
the workflow file (not the current folder); --workspace and $MOLEXP_WORKSPACE still win."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLOW = """
from molexp import Task, TaskContext, Workflow


class Hello(Task[TaskContext[None, None, None], None]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> None:
        ctx.set_result("greeting", ctx.config["greeting"])


wf = Workflow("hello")
wf.add(Hello())
"""


def molexp(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "MOLEXP_WORKSPACE"}
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**clean, **env},
    )


def _runs(root: Path) -> list[Path]:
    return sorted(root.glob("projects/*/experiments/*/runs/*"))


def test_workspace_from_molexp_toml_found_from_the_workflow_file(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "flow.py").write_text(textwrap.dedent(FLOW))
    (flows / "molexp.toml").write_text(
        'workspace = "../data/runs"\n\n[defaults]\ngreeting = "hi"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = molexp("run", "../flows/flow.py", cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(_runs(tmp_path / "data" / "runs")) == 1
    assert not (elsewhere / "molexp-workspace").exists()
    # the listing commands find the file from the current folder up
    listed = molexp("runs", "list", "--json", cwd=flows)
    assert listed.returncode == 0, listed.stderr
    assert '"greeting": "hi"' in listed.stdout
    # --workspace and $MOLEXP_WORKSPACE win over the file
    assert molexp("run", "flow.py", "--workspace", "mine", cwd=flows).returncode == 0
    assert len(_runs(flows / "mine")) == 1
    env_ws = str(tmp_path / "env-ws")
    assert molexp("run", "flow.py", cwd=flows, MOLEXP_WORKSPACE=env_ws).returncode == 0
    assert len(_runs(Path(env_ws))) == 1
    assert len(_runs(tmp_path / "data" / "runs")) == 1


def test_a_bad_workspace_value_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "molexp.toml").write_text("workspace = 3\n")
    proc = molexp("run", "flow.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: profile file {tmp_path / 'molexp.toml'}: workspace must be a folder path "
        "(a string), not 3\n"
    )
