"""ctx.artifact.save: data kinds, versions, names, and what is recorded."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from molexp.workspace import ArtifactAsset, AssetNameError, RunContext, Workspace

from .conftest import manifest_records, strict_loads


@attrs.frozen
class Model:
    weights: tuple[float, ...]
    name: str


@dataclasses.dataclass
class Report:
    score: float


@pytest.fixture
def rc(ws: Workspace) -> Iterator[RunContext]:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as context:
        yield context


def test_each_data_kind_round_trips(rc: RunContext, tmp_path: Path) -> None:
    store = rc.bind_task("train", workflow="wf").artifact
    source = tmp_path / "traj.xyz"
    source.write_bytes(b"2\nH2\nH 0 0 0\nH 0 0 0.74\n")
    cases = {
        "raw.bin": (b"\x00\x01\xff", "bytes", "application/octet-stream"),
        "notes.txt": ("énergie\n", "text", "text/plain"),
        "table.csv": ("a,b\n1,2\n", "text", "text/csv"),
        "traj.xyz": (source, "bytes", None),
        "metrics.json": (
            {"loss": [0.5, 0.25], "ok": True, "none": None},
            "json",
            "application/json",
        ),
        "list": ([1, 2.5, "x"], "json", "application/json"),
        "model": (Model((1.0, 2.0), "m"), "json", "application/json"),
        "report": (Report(0.9), "json", "application/json"),
    }
    for name, (data, encoding, media) in cases.items():
        asset = store.save(name, data)
        assert isinstance(asset, ArtifactAsset) and asset.kind == "artifact"
        assert asset.encoding == encoding and asset.version == 1
        if media is not None:
            assert asset.media_type == media
        on_disk = (rc.path / "artifacts" / name).read_bytes()
        assert asset.read_bytes() == on_disk
        assert asset.size == len(on_disk) and asset.sha256 == hashlib.sha256(on_disk).hexdigest()
        assert asset.producer is not None and asset.producer.task_id == "train"
        assert asset.producer.workflow == "wf" and asset.producer.run_id == rc.run_id
    assert store.load("raw.bin") == b"\x00\x01\xff"
    assert store.load("notes.txt") == "énergie\n"
    assert store.load("traj.xyz") == source.read_bytes()
    assert store.load("metrics.json") == {"loss": [0.5, 0.25], "ok": True, "none": None}
    assert store.load("model", as_type=Model) == Model((1.0, 2.0), "m")
    assert store.load("model") == {"weights": [1.0, 2.0], "name": "m"}
    assert store.get("model") is not None
    assert store.get("model").type_name.endswith("Model")  # type: ignore[union-attr]
    assert store.load("report", as_type=Report) == Report(0.9)
    assert sorted(a.name for a in store.list()) == sorted(cases)


def test_saving_a_name_twice_keeps_both_versions(rc: RunContext) -> None:
    store = rc.artifact
    first = store.save("model/weights.json", {"step": 1})
    second = store.save("model/weights.json", {"step": 2})
    assert (first.version, second.version) == (1, 2) and first.path != second.path
    assert first.load() == {"step": 1} and second.load() == {"step": 2}
    assert strict_loads((rc.path / "artifacts/model/weights.json").read_bytes()) == {"step": 2}
    assert [a.version for a in store.versions("model/weights.json")] == [1, 2]
    assert store.load("model/weights.json", version=1) == {"step": 1}
    assert store.get("model/weights.json").version == 2  # type: ignore[union-attr]
    assert "model/weights.json" in store and "missing" not in store
    with pytest.raises(KeyError, match="has no artifact 'missing'"):
        store.load("missing")


def test_unsupported_data_is_a_type_error_and_writes_nothing(rc: RunContext) -> None:
    store = rc.artifact
    store.save("ok.json", {"a": 1})
    before = sorted(p.relative_to(rc.path) for p in rc.path.rglob("*"))
    manifest_before = (rc.path / "manifest.jsonl").read_bytes()
    for bad, message in [
        (object(), "cannot store a value of type builtins.object"),
        ({"s": {1, 2}}, r"value at value\['s'\] of type builtins.set .*sorted list"),
        ({1: "int key"}, "key 1 at value is a int"),
        ([1, object()], r"value at value\[1\]"),
        (Model((1.0,), name=object()), r"value at value\['name'\]"),  # type: ignore[arg-type]
        (3 + 4j, "builtins.complex"),
    ]:
        with pytest.raises(TypeError, match=message):
            store.save("bad.json", bad)
    with pytest.raises(TypeError, match="not a regular file"):
        store.save("dir", rc.path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        store.save("missing", rc.path / "nope.bin")
    assert sorted(p.relative_to(rc.path) for p in rc.path.rglob("*")) == before
    assert (rc.path / "manifest.jsonl").read_bytes() == manifest_before


@pytest.mark.parametrize(
    "name",
    [
        "../escape.txt",
        "a/../../escape",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "trailing/",
        "",
        "nul\x00byte",
        "new\nline",
        "back\\slash",
        ".versions/x",
        "x" * 300,
    ],
)
def test_unsafe_names_are_rejected(rc: RunContext, name: str) -> None:
    with pytest.raises(AssetNameError):
        rc.artifact.save(name, "x")
    with pytest.raises(AssetNameError):
        rc.log(name)
    with pytest.raises(AssetNameError):
        rc.checkpoint(name, data=1)
    assert not (rc.path / "manifest.jsonl").exists() or manifest_records(rc.path) == []


def test_non_str_names_are_rejected(rc: RunContext) -> None:
    with pytest.raises(AssetNameError, match="must be a str"):
        rc.artifact.save(Path("a.txt"), "x")  # type: ignore[arg-type]


def test_a_name_cannot_be_both_a_file_and_a_folder(rc: RunContext) -> None:
    rc.artifact.save("a", "file")
    with pytest.raises(AssetNameError, match="clashes with the existing artifact 'a'"):
        rc.artifact.save("a/b", "x")
    rc.artifact.save("c/d", "x")
    with pytest.raises(AssetNameError, match="clashes with the existing artifact 'c/d'"):
        rc.artifact.save("c", "x")
    assert [r["name"] for r in manifest_records(rc.path)] == ["a", "c/d"]


def test_symlinked_folders_cannot_be_used_to_escape(rc: RunContext, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (rc.path / "artifacts").mkdir(exist_ok=True)
    (rc.path / "artifacts" / "link").symlink_to(outside)
    (rc.path / "logs").symlink_to(outside)
    with pytest.raises(AssetNameError, match="is a symbolic link"):
        rc.artifact.save("link/x.txt", "x")
    with pytest.raises(AssetNameError, match="is a symbolic link"):
        rc.artifact.save("link/deeper/x.txt", "x")
    with pytest.raises(AssetNameError, match="is a symbolic link"):
        rc.log("x").append("escape")
    assert list(outside.iterdir()) == []
    assert not (rc.path / "artifacts" / ".versions").exists()  # nothing was written


def test_tags_are_recorded_and_queryable(rc: RunContext, ws: Workspace) -> None:
    rc.artifact.save("a.json", {"x": 1}, tags=["final", "plot"])
    rc.artifact.save("b.json", {"x": 2}, tags=["plot"])
    assert [a.name for a in ws.catalog.query_assets(tag="final")] == ["a.json"]
    assert sorted(a.name for a in ws.catalog.query_assets(tag="plot")) == ["a.json", "b.json"]
    with pytest.raises(TypeError, match="single str"):
        rc.artifact.save("c.json", 1, tags="final")


def test_small_files_are_restored_from_the_manifest(ws: Workspace) -> None:
    """A power loss can leave a small file short; its bytes are in its fsynced record."""
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        first = rc.artifact.save("m.json", {"v": 1})
        second = rc.artifact.save("m.json", {"v": 2})
        ckpt = rc.checkpoint("state", data=b"\x00\x01")
        big = rc.artifact.save("big.bin", b"x" * (64 * 1024))  # fsynced itself, not inline
    assert run.verify_files() == []
    first.path.write_bytes(b"")  # as if never written back
    ckpt.path.unlink()
    (run.path / "artifacts/m.json").unlink()
    problems = run.verify_files(repair=True)
    assert len(problems) == 3
    assert first.load() == {"v": 1} and ckpt.read_bytes() == b"\x00\x01"
    assert (run.path / "artifacts/m.json").read_bytes() == second.read_bytes()
    assert big.read_bytes() == b"x" * (64 * 1024)
    assert run.verify_files() == []
    records = manifest_records(run.path)
    assert "inline" in records[0] and "inline_b64" in records[2]
    assert not any("inline" in r or "inline_b64" in r for r in records[3:])
