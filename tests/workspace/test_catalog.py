"""The catalog: queries, and agreement with the manifests after crashes and copies."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest

from molexp.profile import ProfileConfig
from molexp.workspace import Workspace

from .conftest import catalog_view, manifest_view, strict_loads


def _populate(ws: Workspace) -> None:
    for exp_name, tasks in (("e1", ["train", "eval"]), ("e2", ["train"])):
        exp = ws.project("p").experiment(exp_name)
        run = exp.add_run(params={"exp": exp_name})
        with run.start(profile={"x": 1}) as rc:
            for task in tasks:
                b = rc.bind_task(task, workflow="wf")
                b.artifact.save(f"{task}/out.json", {"task": task}, tags=[task])
                b.log(task).append("line")
                b.checkpoint(f"{task}-state", data={"step": 1})
    failed = ws.project("q").experiment("e").add_run()
    with pytest.raises(RuntimeError), failed.start(profile=ProfileConfig({}, name="gpu")):
        raise RuntimeError("x")
    ws.assets.add("shared", "data")


def test_query_filters(ws: Workspace) -> None:
    _populate(ws)
    cat = ws.catalog
    assert len(cat.query_assets()) == 3 * 3 + 1
    train = cat.query_assets(producer_task="train")
    assert len(train) == 6 and all(a.producer and a.producer.task_id == "train" for a in train)
    assert {a.kind for a in cat.query_assets(producer_task="eval")} == {
        "artifact",
        "log",
        "checkpoint",
    }
    assert len(cat.query_assets(kind="artifact", experiment="e1")) == 2
    assert len(cat.query_assets(kind="checkpoint", project="p")) == 3
    assert [a.name for a in cat.query_assets(name="eval/out.json")] == ["eval/out.json"]
    assert len(cat.query_assets(tag="train")) == 2
    assert len(cat.query_assets(workflow="wf", kind="log")) == 3
    assert [a.name for a in cat.query_assets(scope="workspace")] == ["shared"]
    run = ws.project("p").experiment("e2").runs()[0]
    assert {a.run_id for a in cat.query_assets(run=run)} == {run.id}
    assert len(cat.query_assets(run=run.id)) == 3
    newest_first = cat.query_assets(kind="artifact")
    assert [a.created_at for a in newest_first] == sorted(
        (a.created_at for a in newest_first), reverse=True
    )
    assert len(cat.query_assets(limit=2)) == 2
    assert cat.count_assets(producer_task="train") == 6
    assert cat.query_assets(producer_task="nobody") == []
    # runs
    assert len(cat.query_runs()) == 3
    assert [r.project_name for r in cat.query_runs(status="failed")] == ["q"]
    assert len(cat.query_runs(status=["succeeded", "failed"])) == 3
    assert len(cat.query_runs(project="p", experiment="e1")) == 1
    assert [r.project_name for r in cat.query_runs(profile="gpu")] == ["q"]
    assert cat.query_runs(status="running") == []


def test_bad_query_arguments_are_clear(ws: Workspace) -> None:
    with pytest.raises(ValueError, match="unknown asset kind 'model'"):
        ws.catalog.query_assets(kind="model")
    with pytest.raises(ValueError, match="unknown run status 'done'"):
        ws.catalog.query_runs(status="done")
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        ws.catalog.query_assets(limit=0)
    with pytest.raises(ValueError, match="unknown scope"):
        ws.catalog.query_assets(scope="galaxy")
    with pytest.raises(TypeError, match="unknown filters: producer"):
        ws.catalog.count_assets(producer="x")


def test_catalog_is_sqlite_wal_with_indexes(ws: Workspace) -> None:
    _populate(ws)
    conn = sqlite3.connect(ws.catalog.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {row[1] for row in conn.execute("SELECT * FROM sqlite_master WHERE type='index'")}
    assert {"assets_name", "assets_kind", "assets_task", "assets_run", "assets_scope"} <= indexes
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM assets WHERE producer_task='train' "
        "ORDER BY created_at DESC"
    ).fetchall()
    assert "assets_task" in str(plan)


def test_rebuild_recreates_the_same_index(ws: Workspace) -> None:
    _populate(ws)
    before = catalog_view(ws)
    assert before == manifest_view(ws.root)
    report = ws.catalog.rebuild()
    assert report.records_indexed == len(before)
    assert catalog_view(ws) == before
    runs_before = {(r.id, r.status) for r in ws.catalog.query_runs()}
    ws.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(ws.catalog.path) + suffix).unlink(missing_ok=True)
    fresh = Workspace(ws.root)
    assert catalog_view(fresh) == before  # re-derived automatically on open
    assert {(r.id, r.status) for r in fresh.catalog.query_runs()} == runs_before


def test_record_appended_without_catalog_insert_is_indexed_on_open(ws: Workspace) -> None:
    """A writer killed between its manifest append and its catalog insert."""
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.artifact.save("a.txt", "a")
        record = strict_loads((run.path / "manifest.jsonl").read_text().splitlines()[0])
        ghost = {**record, "id": "f" * 32, "name": "ghost.txt", "version": 1}
        with open(run.path / "manifest.jsonl", "a") as fh:
            fh.write(json.dumps(ghost) + "\n")
        # a live writer notices the gap and indexes it before its own record
        rc.artifact.save("b.txt", "b")
        assert {a.name for a in ws.catalog.query_assets()} == {"a.txt", "ghost.txt", "b.txt"}
        with open(run.path / "manifest.jsonl", "a") as fh:
            fh.write(json.dumps({**ghost, "id": "e" * 32, "name": "ghost2.txt"}) + "\n")
    fresh = Workspace(ws.root)
    assert {a.name for a in fresh.catalog.query_assets()} == {
        "a.txt",
        "ghost.txt",
        "b.txt",
        "ghost2.txt",
    }
    assert catalog_view(fresh) == manifest_view(ws.root)


def test_torn_last_line_is_ignored_then_terminated(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        rc.artifact.save("a.txt", "a")
    manifest = run.path / "manifest.jsonl"
    with open(manifest, "ab") as fh:
        fh.write(b'{"id": "torn", "kind": "artif')  # a crash mid-append
    fresh = Workspace(ws.root)
    assert [a.name for a in fresh.catalog.query_assets()] == ["a.txt"]
    assert [a.name for a in fresh.run(run.id).assets()] == ["a.txt"]
    with fresh.project("p").experiment("e").add_run().start():
        pass
    with fresh.run(run.id).attach() as rc:
        rc.artifact.save("b.txt", "b")  # the torn line is terminated, not merged
    lines = manifest.read_bytes().split(b"\n")
    assert (
        lines[1] == b'{"id": "torn", "kind": "artif' and strict_loads(lines[2])["name"] == "b.txt"
    )
    assert {a.name for a in Workspace(ws.root).catalog.query_assets()} == {"a.txt", "b.txt"}


def test_unreadable_catalog_is_set_aside_and_rederived(ws: Workspace) -> None:
    _populate(ws)
    before = catalog_view(ws)
    ws.close()
    for suffix in ("-wal", "-shm"):
        Path(str(ws.catalog.path) + suffix).unlink(missing_ok=True)
    ws.catalog.path.write_bytes(b"this is not a database" * 100)
    fresh = Workspace(ws.root)
    assert catalog_view(fresh) == before
    assert list(ws.catalog.path.parent.glob("catalog.sqlite.corrupt-*"))


def test_copied_in_and_deleted_runs(ws: Workspace, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "cluster")
    remote = other.project("p").experiment("e").add_run(params={"from": "cluster"})
    with remote.start() as rc:
        rc.bind_task("md").artifact.save("traj.bin", b"\x00" * 10)
    local = ws.project("p").experiment("e").add_run()
    with local.start() as rc:
        rc.artifact.save("x.txt", "x")
    # an HPC user copies a run folder in: it is self-describing and re-indexed
    shutil.copytree(remote.path, ws.root / "projects/p/experiments/e/runs" / remote.id)
    fresh = Workspace(ws.root)
    assert {r.id for r in fresh.catalog.query_runs()} == {local.id, remote.id}
    [traj] = fresh.catalog.query_assets(producer_task="md")
    assert traj.run_id == remote.id and traj.read_bytes() == b"\x00" * 10
    assert fresh.run(remote.id).params == {"from": "cluster"}
    # deleting a run folder drops it from the index on the next open
    shutil.rmtree(local.path)
    fresh2 = Workspace(ws.root)
    assert {r.id for r in fresh2.catalog.query_runs()} == {remote.id}
    assert [a.name for a in fresh2.catalog.query_assets()] == ["traj.bin"]


@pytest.mark.parametrize("direct", [True, False], ids=["slots", "init"])
def test_catalog_assets_equal_the_manifests_assets(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    """Rows become the same assets as the manifest records they index, whether built by
    storing slots directly or (a class with validators) through ``__init__``."""
    from molexp.workspace import index_rows

    if not direct:
        monkeypatch.setattr(index_rows._Builder, "__init__", _init_only)
    _populate(ws)
    outside = tmp_path / "external.bin"
    outside.write_bytes(b"big")
    ws.project("p").assets.add("ext", outside, copy=False, tags=["raw", "x"])
    ws.project("p").experiment("e1").assets.add("typed", Point(1, 2))
    from_manifests = {}
    for run in ws.catalog.query_runs():
        from_manifests.update({a.id: a for a in run.assets()})
    for scope in (ws.assets, ws.project("p").assets, ws.project("p").experiment("e1").assets):
        from_manifests.update({a.id: a for a in scope.list()})
    fresh = Workspace(ws.root)  # no record left from this process: all built from rows
    from_rows = {a.id: a for a in fresh.catalog.query_assets()}
    assert from_rows == from_manifests and len(from_rows) == 12
    assert {type(a).__name__ for a in from_rows.values()} == {
        "ArtifactAsset",
        "LogAsset",
        "CheckpointAsset",
        "DataAsset",
    }
    for asset in from_rows.values():
        assert asset.read_bytes() == from_manifests[asset.id].read_bytes()
    fresh.close()


@attrs.frozen
class Point:
    x: int
    y: int


def _init_only(self: Any, cls: type[Any]) -> None:
    self.cls = cls
    self.names = tuple(f.alias for f in attrs.fields(cls))
    self.setters = ()
