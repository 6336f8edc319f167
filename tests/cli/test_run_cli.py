"""`molexp run`, `runs`, `assets`, `graph`, `catalog`: the real console script in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

FLOW = """
from __future__ import annotations

import attrs

from molexp import Task, TaskContext, Workflow


@attrs.define
class State:
    touched: int = 0


class Record(Task[TaskContext[State, str, None], dict[str, object]]):
    async def execute(self, ctx: TaskContext[State, str, None]) -> dict[str, object]:
        ctx.state.touched += 1
        ctx.set_result("config", ctx.config.to_dict())
        ctx.set_result("deps", ctx.deps)
        log = ctx.log("record")
        if log is not None:
            log.append(f"profile={ctx.config.name}")
        if ctx.artifact is not None:
            ctx.artifact.save("config.json", ctx.config.to_dict())
        return ctx.config.to_dict()


class Explode(Task[TaskContext[State, str, dict[str, object]], None]):
    async def execute(self, ctx: TaskContext[State, str, dict[str, object]]) -> None:
        if ctx.config.get("explode", False):
            raise ValueError("the reactor overheated")


wf = Workflow("recorder", state=State, make_deps=lambda config: f"engine-{config.get('engine', 'none')}")
record = wf.add(Record())
explode = wf.add(Explode(), after=record)

other = Workflow("other")
other.add(Record())
"""

PROFILES = """
[defaults]
engine = "lammps"
md = { steps = 10, dt = 0.5 }

[profiles.quick]
md = { steps = 2 }

[profiles.hot]
extends = "quick"
temperature = 500
explode = true

[profiles.labelled]
label = "untitled"
"""


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "recorder.py").write_text(textwrap.dedent(FLOW))
    (tmp_path / "flows" / "molexp.toml").write_text(PROFILES)
    (tmp_path / "flows" / "not_a_workflow.py").write_text("x = 1\n")
    return tmp_path


def run_id(stdout: str) -> str:
    match = re.search(r"molexp runs show (\S+)", stdout)
    assert match, stdout
    return match.group(1)


def _no_constant(name: str) -> object:
    raise ValueError(f"non-standard JSON constant {name} in run.json")


def with_results(doc: dict[str, object], path: Path) -> dict[str, object]:
    """run.json's results updated by the appended results.jsonl (a later key wins)."""
    results = dict(doc["results"])  # type: ignore[call-overload]
    if path.exists():
        for line in path.read_text().splitlines():
            entry = json.loads(line, parse_constant=_no_constant)
            results[entry["key"]] = entry["value"]
    return {**doc, "results": results}


def run_json(project: Path, rid: str) -> dict[str, object]:
    [path] = (project / "molexp-workspace").rglob(f"runs/{rid}/run.json")
    data: dict[str, object] = json.loads(path.read_text(), parse_constant=_no_constant)
    return with_results(data, path.with_name("results.jsonl"))


def test_profile_extends_and_overrides_reach_the_tasks_and_the_record(project: Path) -> None:
    proc = molexp(
        "run",
        "flows/recorder.py:recorder",
        "--profile",
        "quick",
        "-s",
        "md.dt=0.25",
        "-s",
        "label=first try",
        "--param",
        "replica=3",
        cwd=project,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "profile 'quick'" in proc.stdout and "status: succeeded" in proc.stdout
    assert "done    record" in proc.stdout  # plain progress lines when not a terminal
    rid = run_id(proc.stdout)
    record = run_json(project, rid)
    expected = {"engine": "lammps", "md": {"steps": 2, "dt": 0.25}, "label": "first try"}
    assert record["status"] == "succeeded"
    assert record["params"] == {"replica": 3}
    assert record["profile"]["name"] == "quick" and record["profile"]["config"] == expected  # type: ignore[index]
    assert record["results"] == {"config": expected, "deps": "engine-lammps"}


def test_a_failing_workflow_exits_1_and_names_the_task(project: Path) -> None:
    proc = molexp("run", "flows/recorder.py:recorder", "--profile", "hot", cwd=project)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "status: failed" in proc.stdout
    assert "failed task: explode: ValueError: the reactor overheated" in proc.stdout
    assert "FAILED  explode" in proc.stdout
    record = run_json(project, run_id(proc.stdout))
    assert record["status"] == "failed"
    assert record["error"]["type"] == "ValueError"  # type: ignore[index]
    assert record["results"]["config"]["temperature"] == 500  # type: ignore[index]  # kept


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["flows/recorder.py:recorder", "--profile", "fast"],
            r"molexp.toml: unknown profile 'fast'; profiles: hot, labelled, quick",
        ),
        (["flows/missing.py"], r"flows/missing.py: no such file"),
        (["flows/not_a_workflow.py"], r"defines no molexp Workflow"),
        (
            ["flows/recorder.py"],
            r"defines several workflows \('recorder', 'other'\); pick one with flows/recorder.py:NAME",
        ),
        (["flows/recorder.py:nope"], r"no workflow named 'nope' \(found: 'recorder', 'other'\)"),
        (
            ["flows/recorder.py:other", "-s", "broken"],
            r"override 'broken' must look like key.sub=value",
        ),
        (
            ["flows/recorder.py:other", "--max-concurrency", "0"],
            r"--max-concurrency must be a positive integer",
        ),
    ],
)
def test_input_errors_exit_2_with_a_clear_message(
    project: Path, args: list[str], message: str
) -> None:
    proc = molexp("run", *args, cwd=project)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert re.search(message, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr


def test_runs_assets_graph_and_catalog_commands(project: Path) -> None:
    ok = molexp(
        "run",
        "flows/recorder.py:recorder",
        "--profile",
        "quick",
        "--experiment",
        "exp1",
        cwd=project,
    )
    bad = molexp(
        "run", "flows/recorder.py:recorder", "--profile", "hot", "--experiment", "exp1", cwd=project
    )
    good_id, bad_id = run_id(ok.stdout), run_id(bad.stdout)

    listing = molexp("runs", cwd=project)
    assert listing.returncode == 0
    assert (
        good_id in listing.stdout and bad_id in listing.stdout and "default/exp1" in listing.stdout
    )
    failed = molexp("runs", "list", "--status", "failed", cwd=project)
    assert bad_id in failed.stdout and good_id not in failed.stdout

    show = molexp("runs", "show", good_id, cwd=project)
    assert show.returncode == 0
    assert "status:     succeeded" in show.stdout and "profile:    quick" in show.stdout
    assert "config.json" in show.stdout and 'deps = "engine-lammps"' in show.stdout
    missing = molexp("runs", "show", "no-such-run", cwd=project)
    assert missing.returncode == 2 and "no-such-run" in missing.stderr

    assets = molexp("assets", "--run", good_id, "--kind", "artifact", cwd=project)
    assert (
        assets.returncode == 0 and "config.json v1" in assets.stdout and "record" in assets.stdout
    )
    by_task = molexp("assets", "--producer-task", "record", cwd=project)
    kinds = [line.split()[0] for line in by_task.stdout.splitlines()[1:]]
    assert sorted(kinds) == ["artifact", "artifact", "log", "log"], by_task.stdout
    none = molexp("assets", "--producer-task", "nobody", cwd=project)
    assert none.returncode == 0 and "no assets" in none.stdout

    rebuilt = molexp("catalog", "rebuild", cwd=project)
    assert rebuilt.returncode == 0 and "catalog rebuilt" in rebuilt.stdout
    assert molexp("assets", "--producer-task", "record", cwd=project).stdout == by_task.stdout

    graph = molexp("graph", "flows/recorder.py:recorder", cwd=project)
    assert graph.returncode == 0
    assert graph.stdout.splitlines()[0] == "flowchart TD"
    assert "record -->|dict[str, object]| explode" in graph.stdout


def test_bad_names_are_input_errors_and_hints_carry_the_workspace(project: Path) -> None:
    bad = molexp("run", "flows/recorder.py:recorder", "--experiment", "my flow", cwd=project)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "my flow" in bad.stderr
    escape = molexp("run", "flows/recorder.py:recorder", "--project", "../evil", cwd=project)
    assert escape.returncode == 2 and "../evil" in escape.stderr
    show = molexp("runs", "show", "bad id", cwd=project)
    assert show.returncode == 2 and "Traceback" not in show.stderr
    ok = molexp("run", "flows/recorder.py:recorder", "--workspace", "elsewhere", cwd=project)
    assert ok.returncode == 0
    hint = re.search(r"next: (molexp runs show \S+ --workspace elsewhere)", ok.stdout)
    assert hint, ok.stdout
    follow = molexp(*hint.group(1).split()[1:], cwd=project)
    assert follow.returncode == 0 and "status:     succeeded" in follow.stdout


def test_the_failed_task_is_shown_by_runs_show(project: Path) -> None:
    bad = molexp("run", "flows/recorder.py:recorder", "--profile", "hot", cwd=project)
    show = molexp("runs", "show", run_id(bad.stdout), cwd=project)
    assert "error:      task explode: ValueError: the reactor overheated" in show.stdout


def test_workspace_commands_without_a_workspace(tmp_path: Path) -> None:
    proc = molexp("runs", cwd=tmp_path)
    assert proc.returncode == 2 and "no workspace at molexp-workspace" in proc.stderr


def test_the_main_example_end_to_end(tmp_path: Path) -> None:
    """The README's first command: the Lennard-Jones fluid, tracked, with the quick profile."""
    proc = molexp(
        "run",
        str(ROOT / "examples" / "lj_fluid" / "workflow.py"),
        "--profile",
        "quick",
        "--workspace",
        str(tmp_path / "ws"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "workflow 'lj-fluid' (6 tasks), profile 'quick'" in out and "status: succeeded" in out
    for name in (
        "system.json",
        "energies.json",
        "rdf.csv",
        "report.json",
        "equilibration",
        "production",
    ):
        assert name in out, name
    energy = float(re.search(r"energy_per_particle = (-?\d+\.\d+)", out).group(1))  # type: ignore[union-attr]
    assert -7.0 < energy < -2.0, "a dense LJ liquid near T=1.5 has U/N of a few epsilon"
    assert "run folder:" in out and "next: molexp runs show" in out
    # The README shows this run's output: its (seeded, deterministic) results must match.
    readme = (ROOT / "README.md").read_text()
    for key in ("energy_per_particle", "energy_stderr", "rdf_first_peak"):
        shown = re.search(rf"^  {key} = \S+$", readme, re.M)
        assert shown and shown.group(0) in out.splitlines(), key
    rid = run_id(out)
    checkpoints = molexp(
        "assets",
        "--run",
        rid,
        "--kind",
        "checkpoint",
        "--workspace",
        str(tmp_path / "ws"),
        cwd=tmp_path,
    )
    rows = [line.split()[:3] for line in checkpoints.stdout.splitlines()[1:]]
    assert [name for _, name, _ in rows] == ["equilibration"] * 2, (
        checkpoints.stdout
    )  # a chain of 2


def test_the_main_example_generated_contexts_are_current(tmp_path: Path) -> None:
    proc = molexp(
        "check",
        "examples/lj_fluid/workflow.py",
        "--mypy-arg=--strict",
        f"--mypy-arg=--cache-dir={tmp_path / 'mypy-cache'}",  # not .mypy_cache in the repo
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
