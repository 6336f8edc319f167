"""One damaged file never takes the workspace down.

A truncated, garbage or wrongly typed ``run.json``, a manifest record with a wrongly typed
field, or a workspace on a read-only mount: ``molexp runs``, ``runs show``, ``assets`` and
``catalog rebuild`` keep working for the rest of the workspace, list the damaged run with
its file named, and change nothing on disk (docs/cli.md: input errors exit 2, one line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from molexp.workspace import CorruptRunError, Workspace

from .conftest import python_env

DAMAGE = {
    "truncated": b'{"run_id": "truncated", "sta',
    "garbage": b"\x00\xff not json at all",
    "a_list": b"[1, 2, 3]",
    "yesterday": None,  # valid JSON, started_at: "yesterday"
    "results_list": None,  # valid JSON, results: []
    "tags_int": None,  # valid JSON, tags: 7
}
EXPECTED = {
    "truncated": "is not valid JSON",
    "garbage": "is not valid JSON",
    "a_list": "not a run record (a JSON list, not an object)",
    "yesterday": "started_at must be an ISO timestamp or null, not 'yesterday'",
    "results_list": "results must be an object, not list",
    "tags_int": "tags must be a list of strings",
}


def _molexp(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args, "--workspace", str(root)],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def damaged(tmp_path: Path) -> Iterator[Path]:
    """A workspace with one good run and one run per kind of damage."""
    ws = Workspace(tmp_path / "ws")
    experiment = ws.project("p").experiment("e")
    for run_id in ("good", *DAMAGE):
        with experiment.add_run(run_id=run_id).start() as rc:
            rc.artifact.save("data.json", {"run": run_id})
            rc.set_result("energy", -1.5)
    ws.close()
    runs = ws.root / "projects" / "p" / "experiments" / "e" / "runs"
    for run_id, text in DAMAGE.items():
        path = runs / run_id / "run.json"
        if text is None:
            doc = json.loads(path.read_text())
            if run_id == "yesterday":
                doc["started_at"] = "yesterday"
            elif run_id == "results_list":
                doc["results"] = []
            else:
                doc["tags"] = 7
            text = json.dumps(doc).encode()
        path.write_bytes(text)
    # A manifest record with a non-integer version in the good run: skipped, named.
    with open(runs / "good" / "manifest.jsonl", "a") as fh:
        record = json.loads((runs / "good" / "manifest.jsonl").read_text().splitlines()[0])
        fh.write(json.dumps({**record, "id": "f" * 32, "version": "two"}) + "\n")
    yield ws.root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".molexp" not in p.parts and p.name not in ("heartbeat",)
    }


def test_runs_lists_the_damaged_runs_with_their_files(damaged: Path) -> None:
    before = _snapshot(damaged)
    proc = _molexp(damaged, "runs")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.split()[:3] == ["good", "p/e", "succeeded"] for line in lines)
    for run_id, message in EXPECTED.items():
        assert any(line.split()[:3] == [run_id, "p/e", "damaged"] for line in lines), run_id
        shown = [line for line in lines if line.strip().startswith(f"run {run_id}:")]
        assert len(shown) == 1 and f"runs/{run_id}/run.json" in shown[0], proc.stdout
        assert message in shown[0]
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("skipping the manifest record") == 1
    assert "version must be a positive integer, not 'two'" in proc.stderr
    assert _snapshot(damaged) == before  # nothing repaired, rewritten or moved


@pytest.mark.parametrize("run_id", sorted(DAMAGE))
def test_runs_show_of_a_damaged_run_is_one_line_exit_2(damaged: Path, run_id: str) -> None:
    proc = _molexp(damaged, "runs", "show", run_id)
    assert proc.returncode == 2
    assert proc.stdout == ""
    # One error line (besides the warning about the good run's bad manifest record).
    [line] = [x for x in proc.stderr.splitlines() if "skipping the manifest record" not in x]
    assert line.startswith(f"error: run {run_id}: ") and EXPECTED[run_id] in line


def test_other_commands_keep_working(damaged: Path) -> None:
    shown = _molexp(damaged, "runs", "show", "good")
    assert shown.returncode == 0, shown.stderr
    assert "energy = -1.5" in shown.stdout
    assets = _molexp(damaged, "assets", "--run", "good")
    assert assets.returncode == 0, assets.stderr
    assert "data.json v1" in assets.stdout and "Traceback" not in assets.stderr
    rebuilt = _molexp(damaged, "catalog", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "1 run(s)" in rebuilt.stdout
    assert f"damaged runs ({len(DAMAGE)})" in rebuilt.stdout
    assert "Traceback" not in rebuilt.stderr


def test_the_api_names_the_file_and_leaves_the_run_alone(damaged: Path) -> None:
    ws = Workspace(damaged)
    assert [r.id for r in ws.catalog.query_runs()] == ["good"]
    assert sorted(d.run_id for d in ws.catalog.damaged_runs()) == sorted(DAMAGE)
    with pytest.raises(CorruptRunError, match=r"runs/yesterday/run\.json: started_at"):
        ws.run("yesterday").started_at
    # Fixed by hand: indexed again at the next open.
    path = damaged / "projects" / "p" / "experiments" / "e" / "runs" / "yesterday" / "run.json"
    doc = json.loads(path.read_text())
    doc["started_at"] = doc["created_at"]
    path.write_text(json.dumps(doc))
    ws.close()
    again = Workspace(damaged)
    assert sorted(r.id for r in again.catalog.query_runs()) == ["good", "yesterday"]
    assert "yesterday" not in {d.run_id for d in again.catalog.damaged_runs()}


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A workspace behind a read-only bind mount (root ignores permission bits)."""
    ws = Workspace(tmp_path / "ws")
    with ws.project("p").experiment("e").add_run(run_id="done").start() as rc:
        rc.artifact.save("a.json", [1])
    stuck = ws.project("p").experiment("e").add_run(run_id="stuck")
    with stuck.start():
        pass
    ws.close()
    doc = json.loads((stuck.path / "run.json").read_text())
    doc.update(status="running", owner={"host": "elsewhere", "pid": 1})
    (stuck.path / "run.json").write_text(json.dumps(doc))
    (stuck.path / "heartbeat").unlink(missing_ok=True)
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(ws.root), str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"this test needs root and bind mounts: {done.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_read_only_workspace_can_be_read(read_only: Path) -> None:
    with pytest.raises(OSError):
        (read_only / "probe").write_text("x")
    before = _snapshot(read_only)
    for args in (("runs",), ("runs", "show", "done"), ("assets",), ("catalog", "rebuild")):
        proc = _molexp(read_only, *args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    listed = _molexp(read_only, "runs").stdout
    assert "done" in listed and "succeeded" in listed
    assert "stuck" in listed and "interrupted" in listed  # shown, not recorded
    assert "read-only" in _molexp(read_only, "assets").stderr
    assert _snapshot(read_only) == before
    assert os.path.exists(read_only / "projects" / "p" / "experiments" / "e" / "runs" / "done")


def test_an_interrupted_run_loses_its_temporary_files_only(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.artifact.save("data/.a.deadbeef.tmp", b"a user's file with a temp-like name")
        rc.set_result("energy", -2.0)
    ws.close()
    leftovers = [
        ".run.json.4242.0badc0de.tmp",  # atomic_write of run.json, killed before rename
        "artifacts/.versions/.000007-x.npy.partial",  # a version half written
        "artifacts/.x.json.cafe1234.tmp",  # link_latest's temporary link
        "checkpoints/c/.000002.partial",
    ]
    for rel in leftovers:
        (run.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (run.path / rel).write_bytes(b"half")
    kept = ["artifacts/data/.a.deadbeef.tmp", "notes.tmp", ".hidden.partial.txt"]
    for rel in kept[1:]:
        (run.path / rel).write_text("mine")
    doc = json.loads((run.path / "run.json").read_text())
    doc.update(status="running", owner={"host": "elsewhere", "pid": 1})
    (run.path / "run.json").write_text(json.dumps(doc))
    (run.path / "heartbeat").unlink(missing_ok=True)
    fresh = Workspace(ws.root)
    assert fresh.run(run.id).status.value == "interrupted"
    for rel in leftovers:
        assert not (run.path / rel).exists(), rel
    for rel in kept:
        assert (run.path / rel).exists(), rel
    assert fresh.run(run.id).results == {"energy": -2.0}


def test_a_result_costs_its_own_size(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    big = list(range(200_000))
    with run.start() as rc:
        rc.set_result("big", big)
        size_after_big = (run.path / "run.json").stat().st_size
        results_after_big = (run.path / "results.jsonl").stat().st_size
        for i in range(20):
            rc.set_result(f"small{i}", i)
        # run.json is never rewritten with the big value; each set appends one short line
        assert (run.path / "run.json").stat().st_size == size_after_big < 10_000
        grown = (run.path / "results.jsonl").stat().st_size - results_after_big
        assert grown < 20 * 40
        rc.set_result("small3", "again")  # a later set of a key wins
    results = Workspace(ws.root).run(run.id).results
    assert results["big"] == big and results["small3"] == "again" and results["small19"] == 19
    assert Workspace(ws.root).run(run.id).info()["results"]["small0"] == 0


def test_a_torn_result_line_is_skipped_and_ended(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.set_result("a", 1)
    with open(run.path / "results.jsonl", "ab") as fh:
        fh.write(b'{"key": "b", "val')  # killed mid-append
    assert Workspace(ws.root).run(run.id).results == {"a": 1}
    with run.attach() as rc:
        rc.set_result("c", 3)
    assert Workspace(ws.root).run(run.id).results == {"a": 1, "c": 3}


def test_results_of_runs_written_before_results_jsonl_are_read(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run()
    with run.start():
        pass
    doc = json.loads((run.path / "run.json").read_text())
    doc["results"] = {"old": 1, "both": "old"}
    (run.path / "run.json").write_text(json.dumps(doc))
    with run.attach() as rc:
        rc.set_result("both", "new")
    assert Workspace(ws.root).run(run.id).results == {"old": 1, "both": "new"}


FIXTURE = Path(__file__).parent / "fixtures" / "workspace-v1"


def test_a_workspace_written_before_v2_opens_and_reads_unchanged(tmp_path: Path) -> None:
    """tests/workspace/fixtures/workspace-v1 was written by molexp before workspace v2
    (results in run.json, its catalog file included): every record reads back the same."""
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root, symlinks=True)
    ws = Workspace(root)
    assert sorted(r.id for r in ws.catalog.query_runs()) == ["run-a", "run-b"]
    run = ws.run("run-a")
    assert run.status.value == "succeeded"
    assert run.params == {"temperature": 300.0, "steps": 10}
    assert run.tags == ("v1",)
    assert run.results == {"energy": -4.25, "counts": [1, 2, 3]}
    latest = run.find_asset("system.json")
    assert latest is not None and latest.version == 2
    assert latest.load() == {"n": 5, "box": [1.0, 2.0]}
    assert [a.load() for a in ws.catalog.query_assets(name="system.json", run="run-a")] in (
        [{"n": 5, "box": [1.0, 2.0]}, {"n": 4, "box": [1.0, 2.0]}],
        [{"n": 4, "box": [1.0, 2.0]}, {"n": 5, "box": [1.0, 2.0]}],
    )
    frames = run.find_asset("frames/f0.bin")
    assert frames is not None and frames.read_bytes() == b"\x00\x01\x02"
    log = run.find_asset("progress", "log")
    assert log is not None and log.read_text() == "step 1\nstep 2\n"
    assert run.load_checkpoint("state") == {"step": 2}
    failed = ws.run("run-b")
    assert failed.status.value == "failed" and failed.results == {"partial": 1}
    error = failed.error
    assert error is not None and error.type == "RuntimeError" and error.message == "boom"
    forcefield = ws.project("lab").find_asset("forcefield.txt")
    assert forcefield is not None and forcefield.read_bytes() == b"pair_style lj/cut 2.5\n"
    # ... and it keeps working: a new result lands next to the old ones.
    with run.attach() as rc:
        rc.set_result("later", True)
    assert Workspace(root).run("run-a").results == {
        "energy": -4.25,
        "counts": [1, 2, 3],
        "later": True,
    }
