"""find_asset: run -> experiment -> project -> workspace, newest at the nearest scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from molexp.workspace import DataAsset, Workspace


def test_search_order_is_run_experiment_project_workspace(ws: Workspace, tmp_path: Path) -> None:
    project = ws.project("p")
    exp = project.experiment("e")
    ws.assets.add("forcefield", {"scope": "workspace"})
    ws.assets.add("only-ws", "w")
    project.assets.add("forcefield", {"scope": "project"})
    run = exp.add_run()
    with run.start() as rc:
        b = rc.bind_task("t")
        assert b.find_asset("forcefield").load() == {"scope": "project"}  # type: ignore[union-attr]
        exp.assets.add("forcefield", {"scope": "experiment"})
        assert b.find_asset("forcefield").load() == {"scope": "experiment"}  # type: ignore[union-attr]
        b.artifact.save("forcefield", {"scope": "run"})
        found = b.find_asset("forcefield")
        assert found is not None and found.scope == "run" and found.load() == {"scope": "run"}
        assert b.find_asset("forcefield", kind="data").load() == {"scope": "experiment"}  # type: ignore[union-attr]
        assert b.find_asset("only-ws").scope == "workspace"  # type: ignore[union-attr]
        assert b.find_asset("nothing") is None
        assert b.find_asset("forcefield", kind="log") is None
        with pytest.raises(ValueError, match="unknown asset kind 'model'"):
            b.find_asset("forcefield", kind="model")
    # newest version wins at a scope
    exp.assets.add("forcefield", {"scope": "experiment", "v": 2})
    assert exp.find_asset("forcefield").load() == {"scope": "experiment", "v": 2}  # type: ignore[union-attr]
    assert exp.find_asset("forcefield").version == 2  # type: ignore[union-attr]


def test_scope_assets_copy_or_reference(ws: Workspace, tmp_path: Path) -> None:
    data = tmp_path / "train.xyz"
    data.write_text("1\nH\n")
    copied = ws.assets.add("training-data", data, tags=["raw"])
    assert isinstance(copied, DataAsset) and not copied.external and copied.producer is None
    assert copied.path.parent == ws.root / "assets/.versions"
    assert (ws.root / "assets/training-data").read_text() == "1\nH\n"
    big = tmp_path / "big"
    big.mkdir()
    (big / "a.bin").write_bytes(b"x" * 10)
    ref = ws.project("p").assets.add("big-data", big, copy=False)
    assert ref.external and ref.path == big.resolve() and ref.size == 10
    assert ws.project("p").assets.get("big-data") == ref
    assert [a.name for a in ws.assets.list()] == ["training-data"]
    assert ws.catalog.query_assets(kind="data", scope="project")[0].path == big.resolve()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ws.assets.add("ghost", tmp_path / "ghost", copy=False)
