"""A run folder copied in from elsewhere is untrusted input: it can never make molexp read or
write outside the workspace.

Opening a workspace repairs runs that claim to be ``running`` from their manifests; every
path and name in those records (and in catalog rows and workers' staged records) is checked
before it is used, and symbolic links inside a run folder are not followed. The commands a
user runs on such a workspace (``molexp assets``, ``runs``, ``catalog rebuild``) still work
for everything else, and report what they skipped.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from molexp.workspace import AssetNameError, RunStatus, Workspace
from molexp.workspace.records import record_problem

from .conftest import python_env

SECRET = b"outside the workspace: must stay as it is\n"


def _record(name: str, path: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "id": os.urandom(16).hex(),
        "kind": "artifact",
        "name": name,
        "version": 1,
        "path": path,
        "size": len(data),
        "sha256": None,
        "media_type": "application/octet-stream",
        "encoding": "bytes",
        "created_at": "2026-01-01T00:00:00+00:00",
        "producer": None,
        "inline_b64": base64.b64encode(data).decode(),
        **extra,
    }


def _copied_in_run(ws: Workspace, records: list[dict[str, Any]]) -> Path:
    """A run folder as another machine left it: ``running`` (its owner gone), a manifest."""
    run = ws.project("p").experiment("e").add_run(run_id="copied")
    with run.start() as rc:
        rc.artifact.save("kept.json", {"ok": True})
    doc = json.loads((run.path / "run.json").read_text())
    doc["status"] = "running"
    doc["owner"] = {"host": "elsewhere", "pid": 1, "boot_id": "gone"}
    (run.path / "run.json").write_text(json.dumps(doc))
    (run.path / "heartbeat").unlink(missing_ok=True)  # copied without it: nobody beats
    with open(run.path / "manifest.jsonl", "a") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return run.path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_bytes(SECRET)
    return folder


def _untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    assert (outside / "victim.txt").read_bytes() == SECRET


def _molexp(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args, "--workspace", str(root)],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_repair_of_a_copied_in_run_never_writes_outside(ws: Workspace, outside: Path) -> None:
    victim = outside / "victim.txt"
    depth = "../" * 12
    records = [
        _record("abs", str(victim), b"pwned"),  # absolute path
        _record("dotdot", f"{depth}{str(outside)[1:]}/victim.txt", b"pwned"),
        _record("created", f"artifacts/../../../../../../../../{outside.name}/new.txt", b"x"),
        _record("../../escape", "artifacts/.versions/000009-escape", b"pwned"),  # bad name
        _record("runjson", "run.json", b"{}"),  # inside the run, outside its area
        _record("manifest", "manifest.jsonl", b""),
    ]
    run_path = _copied_in_run(ws, records)
    run_json = (run_path / "run.json").read_bytes()
    ws.close()
    proc = _molexp(ws.root, "assets")  # a read-only command opens the workspace: the repair
    assert proc.returncode == 0, proc.stderr
    assert "kept.json" in proc.stdout
    for name in ("abs", "dotdot", "created", "escape", "runjson", "manifest"):
        assert name not in proc.stdout
    assert proc.stderr.count("skipping the manifest record") == len(records)
    assert "is absolute" in proc.stderr and "'..'" in proc.stderr
    assert "outside its folder 'artifacts'" in proc.stderr
    _untouched(outside)
    assert not (ws.root.parent / "new.txt").exists()
    fresh = Workspace(ws.root)
    assert fresh.run("copied").status is RunStatus.INTERRUPTED
    assert json.loads((run_path / "run.json").read_bytes())["status"] == "interrupted"
    assert run_json != (run_path / "run.json").read_bytes()  # only its status changed
    assert [a.name for a in fresh.run("copied").assets()] == ["kept.json"]


def test_links_inside_a_run_folder_are_not_followed(ws: Workspace, outside: Path) -> None:
    # A valid record whose folder is a link out of the run: the repair would write through
    # it, a read would leak what it points at.
    record = _record("linked/x.bin", "artifacts/.versions/000002-x.bin", b"pwned")
    run_path = _copied_in_run(ws, [record])
    versions = run_path / "artifacts" / ".versions"
    for entry in versions.iterdir():
        entry.chmod(0o644)
    os.rename(versions, run_path / "versions-real")
    versions.symlink_to(outside)
    (run_path / "logs").mkdir()
    (run_path / "logs" / "l.log").symlink_to(outside / "victim.txt")
    ws.close()
    fresh = Workspace(fresh_root := ws.root)
    fresh.catalog.rebuild()
    problems = fresh.run("copied").verify_files(repair=True)
    assert any("symbolic link" in p for p in problems), problems
    _untouched(outside)
    kept = fresh.run("copied").find_asset("kept.json")
    assert kept is not None
    with pytest.raises(AssetNameError, match="symbolic link"):
        kept.read_bytes()  # its version file sits behind the link
    with pytest.raises(AssetNameError, match="symbolic link"):
        fresh.catalog.query_assets(name="kept.json")[0].load()
    assert Workspace(fresh_root).run("copied").status is RunStatus.INTERRUPTED


def test_a_linked_version_file_is_not_read(ws: Workspace, outside: Path) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        asset = rc.artifact.save("a.bin", b"mine")
    version = Path(asset.location)
    version.chmod(0o644)
    version.unlink()
    version.symlink_to(outside / "victim.txt")
    with pytest.raises(AssetNameError, match="symbolic link; it is not followed"):
        asset.read_bytes()
    with pytest.raises(AssetNameError, match="symbolic link"):
        Workspace(ws.root).run(run.id).assets()[0].load()


def test_linked_scope_folders_are_not_walked(ws: Workspace, tmp_path: Path) -> None:
    elsewhere = Workspace(tmp_path / "elsewhere")
    with elsewhere.project("q").experiment("e").add_run(run_id="foreign").start() as rc:
        rc.set_result("x", 1)
    elsewhere.close()
    with ws.project("p").experiment("e").add_run(run_id="own").start():
        pass
    (ws.root / "projects" / "linked").symlink_to(elsewhere.root / "projects" / "q")
    (ws.root / "projects" / "p" / "experiments" / "e" / "runs" / "linked-run").symlink_to(
        elsewhere.root / "projects" / "q" / "experiments" / "e" / "runs" / "foreign"
    )
    (ws.root / "projects" / "bad name").mkdir()
    ws.close()
    fresh = Workspace(ws.root)
    fresh.catalog.rebuild()
    assert [r.id for r in fresh.catalog.query_runs()] == ["own"]
    assert [p.name for p in fresh.projects()] == ["p"]
    assert [r.id for r in fresh.project("p").experiment("e").runs()] == ["own"]


def test_catalog_rows_are_checked_before_a_read(ws: Workspace, outside: Path) -> None:
    with ws.project("p").experiment("e").add_run().start() as rc:
        rc.artifact.save("a.bin", b"mine")
    ws.close()
    db = ws.root / ".molexp" / "catalog.sqlite"
    conn = sqlite3.connect(db)
    escape = os.path.relpath(outside / "victim.txt", ws.root)
    conn.execute("UPDATE assets SET path=?", (escape,))
    conn.commit()
    conn.close()
    fresh = Workspace(ws.root)
    [asset] = fresh.catalog.query_assets(name="a.bin")
    with pytest.raises(AssetNameError, match=r"contains '\.\.'"):
        asset.read_bytes()
    _untouched(outside)


def test_a_linked_catalog_is_moved_aside(ws: Workspace, outside: Path) -> None:
    with ws.project("p").experiment("e").add_run().start() as rc:
        rc.artifact.save("a.bin", b"mine")
    ws.close()
    db = ws.root / ".molexp" / "catalog.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.symlink_to(outside / "victim.txt")
    fresh = Workspace(ws.root)
    assert [a.name for a in fresh.catalog.query_assets()] == ["a.bin"]
    fresh.close()
    _untouched(outside)
    assert not db.is_symlink()


def test_a_linked_manifest_is_neither_read_nor_written(ws: Workspace, outside: Path) -> None:
    run = ws.project("p").experiment("e").add_run()
    (run.path / "manifest.jsonl").symlink_to(outside / "victim.txt")
    ws.close()
    fresh = Workspace(ws.root)
    assert fresh.run(run.id).assets() == []
    with pytest.raises(AssetNameError, match="symbolic link"), fresh.run(run.id).start() as rc:
        rc.artifact.save("a.bin", b"x")
    _untouched(outside)


HOSTILE_NAMES = {
    "absolute": "/etc/passwd",
    "dotdot": "../escape.json",
    "inner_dotdot": "a/../../b",
    "nul": "a\x00b",
    "newline": "a\nb",
    "very_long": "x" * 300,
    "very_long_total": "/".join(["y" * 200] * 6),
    "rtl_override": "report\u202etxt.exe",
    "zero_width": "ener\u200bgy.json",
    "bom": "\ufeffa.json",
    "line_separator": "a\u2028b",
    "backslash": "a\\b",
    "reserved": ".versions/x",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_hostile_asset_names_are_refused_naming_them(ws: Workspace, case: str) -> None:
    name = HOSTILE_NAMES[case]
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        with pytest.raises(AssetNameError) as info:
            rc.artifact.save(name, b"x")
        assert repr(name)[:30] in str(info.value)
        with pytest.raises(AssetNameError):
            rc.log(name)
        with pytest.raises(AssetNameError):
            rc.checkpoint(name, data=b"x")
        rc.artifact.save("fine.json", [1])
    assert [a.name for a in run.assets()] == ["fine.json"]
    # The same name read back from a manifest is skipped, with the reason.
    assert record_problem(_record(name, "artifacts/.versions/000001-x", b"x")) is not None


def test_worker_records_are_checked_like_files(ws: Workspace, outside: Path) -> None:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        ticket = rc.ticket()
        worker = ticket.open()
        worker.artifact.save("ok.bin", b"fine")
        staged = worker.take_staged()
        evil = dict(staged.records[0], path=f"../../../../../../{outside}/victim.txt")
        forged = type(staged)(**{**_fields(staged), "records": (*staged.records, evil)})
        with pytest.raises(AssetNameError, match="staged by a worker was refused.*'\\.\\.'"):
            rc.register(forged)
        assert [a.name for a in run.assets()] == ["ok.bin"]
    _untouched(outside)


def _fields(staged: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(staged, recurse=False)


def test_a_catalog_row_naming_folders_outside_is_skipped(ws: Workspace, outside: Path) -> None:
    with ws.project("p").experiment("e").add_run(run_id="mine").start():
        pass
    assert [r.id for r in ws.catalog.query_runs()] == ["mine"]  # the index is open
    # Another process (or a foreign index) adds a row whose names leave the workspace:
    # following it would read, and (marking a dead owner's run interrupted) write, run.json
    # there.
    fake = outside / "projects" / "x" / "experiments" / "y" / "runs" / "ghost"
    fake.mkdir(parents=True)
    document = {"run_id": "ghost", "status": "running", "params": {}, "results": {}}
    (fake / "run.json").write_text(json.dumps(document))
    escape = os.path.relpath(outside / "projects" / "x", ws.root / "projects")
    conn = sqlite3.connect(ws.root / ".molexp" / "catalog.sqlite")
    conn.execute(
        "INSERT INTO runs(run_id, project, experiment, status, path) VALUES (?, ?, ?, ?, ?)",
        ("ghost", escape, "y", "running", "x"),
    )
    conn.commit()
    conn.close()
    assert [r.id for r in ws.catalog.query_runs()] == ["mine"]
    with pytest.raises(LookupError, match="no run 'ghost'"):
        ws.run("ghost")
    assert json.loads((fake / "run.json").read_text()) == document  # untouched
    with pytest.raises(ValueError, match="invalid project name"):
        ws.project("../x")
