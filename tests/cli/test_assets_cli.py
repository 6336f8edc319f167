"""``molexp run``'s summary groups many assets; ``molexp assets`` shows the path a person
opens (not the hidden ``.versions`` copy of the latest version), takes globs and ``--json``
(real subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLOW = """
from molexp import Task, TaskContext, Workflow


class Frames(Task[TaskContext[None, None, None], None]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> None:
        store = ctx.require_run().artifact
        for i in range(30):
            store.save(f"frames/{i:03d}.json", {"frame": i})
        store.save("summary.json", {"version": 1})
        store.save("summary.json", {"version": 2})
        for step in range(15):
            ctx.checkpoint("state", data={"step": step})


wf = Workflow("many")
wf.add(Frames())
"""


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("assets")
    (root / "flow.py").write_text(textwrap.dedent(FLOW))
    proc = molexp("run", "flow.py", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root, proc.stdout


def test_the_run_summary_groups_many_assets(project: tuple[Path, str]) -> None:
    _, stdout = project
    summary = stdout.split("assets (47):\n")[1].split("results:")[0].split("run folder:")[0]
    lines = summary.splitlines()

    def size(values: list[dict[str, int]]) -> int:
        return sum(len(json.dumps(v, separators=(",", ":"))) for v in values)

    frames = size([{"frame": i} for i in range(30)])
    versions = size([{"version": 1}, {"version": 2}])
    states = size([{"step": i} for i in range(15)])
    assert lines == [
        f"  artifact   frames/* (30 names)  {frames} B  by frames",
        f"  artifact   summary.json v1-v2  {versions} B  by frames",
        f"  checkpoint state v1-v15  {states} B  by frames",
        "  (grouped: molexp assets --run RUN lists each one)",
    ]


def test_assets_glob_json_and_user_facing_paths(project: tuple[Path, str]) -> None:
    root, _ = project
    proc = molexp("assets", "--name", "frames/*", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    frames = json.loads(proc.stdout)
    assert sorted(a["name"] for a in frames) == [f"frames/{i:03d}.json" for i in range(30)]
    first = next(a for a in frames if a["name"] == "frames/000.json")
    assert first["path"].endswith("/artifacts/frames/000.json")
    assert "/.versions/" in first["version_path"]
    assert json.loads(Path(first["path"]).read_text()) == {"frame": 0}
    summary = json.loads(molexp("assets", "--name", "summary.json", "--json", cwd=root).stdout)
    by_version = {a["version"]: a for a in summary}
    assert by_version[2]["path"].endswith("/artifacts/summary.json")  # the latest view
    assert "/.versions/" in by_version[1]["path"]  # an older version: its own copy
    table = molexp("assets", "--name", "frames/00*", cwd=root)
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()[1:]
    assert len(rows) == 10
    assert all(".versions" not in row and "artifacts/frames/00" in row for row in rows)
