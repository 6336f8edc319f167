"""A generated module records the wiring it was made from; the runtime refuses a stale one
before any task runs. And ``molexp gen`` generates a module's own workflows, not imported
ones (which would prefix and rename every context)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from codegen_helpers import CASES, molexp, subprocess_env

_RUN = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from cg_scan.workflow import keyed, paired, summary, wf
from molexp import WorkflowRuntime
from molexp.runtime.observer import ExecutionObserver

started = []

class Seen(ExecutionObserver):
    def task_started(self, task_id):
        started.append(task_id)

try:
    result = asyncio.run(WorkflowRuntime().execute(wf, observer=Seen()))
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "started": started}))
else:
    result.raise_for_status()
    print(json.dumps({"summary": result.output(summary), "keyed": result.output(keyed),
                      "paired": result.output(paired), "started": len(started)}))
"""


def _run(root: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(root)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout)
    return found


def test_a_fresh_module_runs_and_a_stale_one_is_refused_before_any_task(tmp_path: Path) -> None:
    shutil.copytree(CASES / "cg_scan", tmp_path / "cg_scan")
    assert molexp("gen", "cg_scan/workflow.py", cwd=tmp_path).returncode == 0
    fresh = _run(tmp_path)
    assert fresh == {"summary": -3.0, "keyed": "a", "paired": -1.0, "started": 8}

    # A fan-in key removed after `molexp gen`: every check still passes statically.
    workflow = tmp_path / "cg_scan" / "workflow.py"
    text = workflow.read_text()
    assert '{"b": relaxed[1], "a": relaxed[0]}' in text
    workflow.write_text(text.replace('{"b": relaxed[1], "a": relaxed[0]}', '{"b": relaxed[1]}'))
    stale = _run(tmp_path)
    assert stale["started"] == []
    error = str(stale["error"])
    assert error.startswith("StaleGeneratedModuleError: workflow 'scan': the generated module")
    assert "cg_scan.workflow_contexts is stale" in error and "molexp gen" in error

    assert molexp("gen", "cg_scan/workflow.py", cwd=tmp_path).returncode == 0
    assert _run(tmp_path)["started"] == 8


def test_gen_generates_the_modules_own_workflows_not_imported_ones(tmp_path: Path) -> None:
    package = tmp_path / "flows"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(
        "from molexp import Task, TaskContext\n\n\n"
        "class Cons(Task[TaskContext[None, None, None], int]):\n"
        "    async def execute(self, ctx: TaskContext[None, None, None]) -> int:\n"
        "        return 1\n"
    )
    (package / "cons.py").write_text(
        "from molexp import Workflow\n\nfrom flows.tasks import Cons\n\n"
        'wf = Workflow("cons")\ncons = wf.add(Cons())\n'
    )
    (package / "main.py").write_text(
        "from molexp import Workflow\n\nfrom flows.cons import wf as cons_wf\n"
        "from flows.tasks import Cons\n\n"
        'main = Workflow("main")\ncons = main.add(Cons())\n\n__all__ = ["cons_wf"]\n'
    )
    assert molexp("gen", "flows/cons.py", "flows/main.py", cwd=tmp_path).returncode == 0
    own = (package / "main_contexts.py").read_text()
    assert "ConsContext: TypeAlias" in own and "MainConsContext" not in own
    assert '"main": ' in own and '"cons": ' not in own
    named = molexp("gen", "flows/main.py", "--workflow", "cons", "-o", "x.py", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert '"cons": ' in (tmp_path / "x.py").read_text()
