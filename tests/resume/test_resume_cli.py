"""`molexp run --resume`, `--cache`, `runs show` attempts and `molexp cache explain`:
the real console script in subprocesses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FLOW = """
from __future__ import annotations

from pathlib import Path

import attrs

from molexp import Task, TaskContext, Workflow


@attrs.frozen
class Dataset:
    values: tuple[float, ...]


class Prepare(Task[TaskContext[None, None, None], Dataset]):
    cache = True

    async def execute(self, ctx: TaskContext[None, None, None]) -> Dataset:
        print("running prepare", flush=True)
        if ctx.artifact is not None:
            ctx.artifact.save("raw.txt", "1 2 3")
        scale = float(ctx.config.get("scale", 1.0))
        return Dataset(tuple(scale * v for v in (1.0, 2.0, 3.0)))


class Train(Task[TaskContext[None, None, Dataset], float]):
    async def execute(self, ctx: TaskContext[None, None, Dataset]) -> float:
        print("running train", flush=True)
        assert type(ctx.inputs) is Dataset
        if Path("break-train").exists():
            raise RuntimeError("the optimizer diverged")
        return sum(ctx.inputs.values)


wf = Workflow("pipeline")
prepare = wf.add(Prepare())
train = wf.add(Train(), after=prepare)
"""


def molexp(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args, "--workspace", str(cwd / "ws")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run_id(stdout: str) -> str:
    found = re.search(r"run default/pipeline/(\S+)", stdout)
    assert found, stdout
    return found.group(1)


def test_resume_a_failed_run_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    (tmp_path / "break-train").touch()
    first = molexp(tmp_path, "run", "flow.py")
    assert first.returncode == 1, first.stderr
    assert "running prepare" in first.stdout and "running train" in first.stdout
    run_id = _run_id(first.stdout)

    (tmp_path / "break-train").unlink()
    second = molexp(tmp_path, "run", "flow.py", "--resume", run_id)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "running prepare" not in second.stdout and "running train" in second.stdout
    assert f"run default/pipeline/{run_id} (resumed: attempt 2)" in second.stdout
    assert re.search(r"prepare\s+[\d.]+ s\s+reused \(stored by an earlier attempt\)", second.stdout)

    show = molexp(tmp_path, "runs", "show", run_id)
    assert show.returncode == 0, show.stderr
    assert "attempts (2):" in show.stdout
    assert re.search(r"1: failed\s", show.stdout) and re.search(r"2: succeeded\s", show.stdout)
    assert re.search(r"prepare\s+computed in attempt 1, reused in attempt 2", show.stdout)
    assert re.search(r"train\s+computed in attempt 2", show.stdout)

    again = molexp(tmp_path, "run", "flow.py", "--resume", run_id)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"error: --resume {run_id}: run {run_id} already succeeded; nothing to resume"
    ]


def test_resume_input_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    with_profile = molexp(tmp_path, "run", "flow.py", "--resume", "latest", "--set", "scale=2")
    assert with_profile.returncode == 2
    assert with_profile.stderr.strip().splitlines() == [
        "error: --resume continues the run with its recorded profile, params and experiment; "
        "drop --set"
    ]
    molexp(tmp_path, "run", "flow.py")  # a workspace with one run
    unknown = molexp(tmp_path, "run", "flow.py", "--resume", "nosuchrun")
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "--resume nosuchrun" in unknown.stderr


def test_cache_hits_across_runs_and_explain_says_why_it_missed(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    first = molexp(tmp_path, "run", "flow.py")
    assert first.returncode == 0, first.stderr
    first_id = _run_id(first.stdout)

    second = molexp(tmp_path, "run", "flow.py")  # Prepare declares cache = True
    assert second.returncode == 0, second.stderr
    second_id = _run_id(second.stdout)
    assert "running prepare" not in second.stdout and "running train" in second.stdout
    assert re.search(rf"prepare\s+[\d.]+ s\s+cached \(computed by run {first_id}\)", second.stdout)
    # the artifact Prepare saved is registered in the new run, with its provenance
    assert re.search(r"artifact\s+raw.txt v1", second.stdout)
    hit = molexp(tmp_path, "cache", "explain", second_id, "prepare")
    assert hit.returncode == 0, hit.stderr
    assert f"hit: output reused from run {first_id} (task 'prepare')" in hit.stdout

    third = molexp(tmp_path, "run", "flow.py", "--set", "scale=2.0", "--cache")
    assert third.returncode == 0, third.stderr
    assert "running prepare" in third.stdout
    miss = molexp(tmp_path, "cache", "explain", _run_id(third.stdout), "prepare")
    assert miss.returncode == 0, miss.stderr
    assert "miss: since the last cached output" in miss.stdout
    changed = [line.split(":")[0].strip() for line in miss.stdout.splitlines()[2:]]
    assert changed == ["config"], miss.stdout

    absent = molexp(tmp_path, "cache", "explain", second_id, "nosuchtask")
    assert absent.returncode == 2
    assert (
        absent.stderr.strip() == f"error: run {second_id} has no stored output of task 'nosuchtask'"
    )
