"""What an in-memory run loads (issue 16): nothing of the workspace, sqlite3, cattrs, attrs,
the codecs, dask, jinja2 or mypy. A new import on this path must be a decision: update
``IN_MEMORY`` here, and measure ``benchmarks/import_time.py`` before and after."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

RUN_IN_MEMORY = textwrap.dedent(
    """
    import asyncio, json, sys

    from molexp import Task, TaskContext, Workflow, WorkflowRuntime

    class Double(Task[TaskContext[None, None, int], int]):
        async def execute(self, ctx: TaskContext[None, None, int]) -> int:
            ctx.set_result("seen", ctx.inputs)
            return ctx.inputs * 2

    wf = Workflow("double", input=int)
    first = wf.add(Double(), name="first")
    wf.add(Double(), after=first, name="second")
    result = asyncio.run(WorkflowRuntime().execute(wf, inputs=3)).raise_for_status()
    assert result.output(wf.node("second")) == 12, result.outputs
    print(json.dumps(sorted(sys.modules)))
    """
)

# molexp's own modules an in-memory execution needs, and no more.
IN_MEMORY = {
    "molexp",
    "molexp._json",
    "molexp._version",
    "molexp.channel",
    "molexp.context",
    "molexp.profile",
    "molexp.runtime",
    "molexp.runtime.compose",
    "molexp.runtime.executor",
    "molexp.runtime.heap",
    "molexp.runtime.observer",
    "molexp.runtime.plan",
    "molexp.runtime.result",
    "molexp.runtime.tries",
    "molexp.runtime.runtime",
    "molexp.workflow",
    "molexp.workflow.actor",
    "molexp.workflow.compose",
    "molexp.workflow.errors",
    "molexp.workflow.fingerprint",
    "molexp.workflow.graph",
    "molexp.workflow.introspect",
    "molexp.workflow.policy",
    "molexp.workflow.task",
}
NEVER = ("sqlite3", "cattrs", "attr", "attrs", "dask", "distributed", "jinja2", "mypy", "numpy")


def _modules_after(script: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_an_in_memory_run_loads_only_the_in_memory_layers() -> None:
    loaded = _modules_after(RUN_IN_MEMORY)
    ours = {m for m in loaded if m == "molexp" or m.startswith("molexp.")}
    assert ours == IN_MEMORY, (
        f"an in-memory run loaded {sorted(ours - IN_MEMORY)} "
        f"(and no longer needs {sorted(IN_MEMORY - ours)})"
    )
    heavy = sorted(m for m in loaded if m.split(".")[0] in NEVER)
    assert not heavy, f"an in-memory run loaded {heavy}"
    assert "molexp_codegen" not in loaded


def test_workspace_names_still_import_from_molexp() -> None:
    script = (
        "import json, sys, molexp\n"
        "from molexp import Workspace, RunContext\n"
        "assert Workspace.__module__.startswith('molexp.workspace'), Workspace\n"
        "assert 'Workspace' in dir(molexp) and 'RunContext' in molexp.__all__\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    assert "molexp.workspace" in _modules_after(script)


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import molexp

    try:
        molexp.Nonexistent  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "Nonexistent" in str(exc)
    else:
        raise AssertionError("molexp.Nonexistent did not raise")
