"""Several processes writing one workspace (and one run) at once: nothing lost, never locked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import defaultdict

from molexp.workspace import Workspace

from .conftest import catalog_view, manifest_records, manifest_view, python_env

PROCESSES = 4
SAVES = 250

ONE_RUN_WRITER = """
import sys
from molexp.workspace import Workspace
root, run_id, worker, saves = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ws = Workspace(root)
with ws.run(run_id).attach() as rc:
    b = rc.bind_task(f"w{worker}")
    for j in range(saves):
        # a tiny shared key space: every process writes versions of the same 8 names
        b.artifact.save(f"shared/{j % 8}.json", {"worker": worker, "j": j})
        if j % 50 == 0:
            ws.catalog.query_assets(producer_task=f"w{worker}", limit=5)  # reads meanwhile
        if j % 25 == 0:
            b.set_result(f"w{worker}-{j}", j)
ws.close()
print("done", worker)
"""

OWN_RUN_WRITER = """
import sys
from molexp.workspace import Workspace
root, worker, saves = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ws = Workspace(root)
run = ws.project("p").experiment("e").add_run(params={"worker": worker})
with run.start() as rc:
    b = rc.bind_task(f"w{worker}")
    for j in range(saves):
        b.artifact.save(f"a/{j}.bin", bytes([worker]) * 64)
        if j % 20 == 0:
            ws.assets.add("common", {"worker": worker, "j": j})  # one shared manifest
ws.close()
print("done", worker)
"""


def _spawn(code: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        assert "database is locked" not in err and "Traceback" not in err, err
        assert out.startswith("done")


def _check_files(ws: Workspace) -> None:
    for asset in ws.catalog.query_assets():
        if asset.sha256 is not None:
            assert hashlib.sha256(asset.read_bytes()).hexdigest() == asset.sha256, asset


def test_processes_saving_into_one_run(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start():
        procs = [_spawn(ONE_RUN_WRITER, ws.root, run.id, w, SAVES) for w in range(PROCESSES)]
        _wait_all(procs)
    records = manifest_records(run.path)
    assert len(records) == PROCESSES * SAVES
    versions: dict[str, list[int]] = defaultdict(list)
    per_worker: dict[str, int] = defaultdict(int)
    for r in records:
        versions[r["name"]].append(r["version"])
        per_worker[r["producer"]["task_id"]] += 1
    assert per_worker == {f"w{w}": SAVES for w in range(PROCESSES)}
    for name, seen in versions.items():  # unique, gap-free versions in manifest order
        assert seen == list(range(1, len(seen) + 1)), name
    assert len({r["path"] for r in records}) == len(records)
    fresh = Workspace(ws.root)
    assert fresh.catalog.reconcile().records_indexed == 0  # the writers indexed everything
    assert catalog_view(fresh) == manifest_view(ws.root)
    assert fresh.catalog.count_assets(run=run.id) == PROCESSES * SAVES
    assert len(run.results) == PROCESSES * (SAVES // 25)
    _check_files(fresh)


def test_processes_with_their_own_runs_and_a_shared_scope(ws: Workspace) -> None:
    saves = 200
    procs = [_spawn(OWN_RUN_WRITER, ws.root, w, saves) for w in range(PROCESSES)]
    _wait_all(procs)
    fresh = Workspace(ws.root)
    assert fresh.catalog.reconcile().records_indexed == 0
    runs = fresh.catalog.query_runs(status="succeeded")
    assert len(runs) == PROCESSES
    assert fresh.catalog.count_assets(kind="artifact") == PROCESSES * saves
    common = fresh.assets.versions("common")
    assert [a.version for a in common] == list(range(1, PROCESSES * saves // 20 + 1))
    assert catalog_view(fresh) == manifest_view(ws.root)
    _check_files(fresh)
