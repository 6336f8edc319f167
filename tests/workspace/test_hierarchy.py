"""Workspace > Project > Experiment > Run on disk."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from molexp.workspace import RunNotFoundError, RunStateError, RunStatus, Workspace

from .conftest import strict_loads


def test_nothing_is_written_until_the_first_write(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    exp = ws.project("p").experiment("e")
    assert not ws.root.exists()
    assert ws.catalog.query_assets() == [] and ws.catalog.query_runs() == []
    assert ws.projects() == [] and exp.runs() == []
    assert not ws.root.exists()
    run = exp.add_run(params={"lr": 0.1})
    assert (ws.root / "workspace.json").is_file()
    assert (ws.root / "projects/p/project.json").is_file()
    assert (ws.root / "projects/p/experiments/e/experiment.json").is_file()
    assert run.path == ws.root / "projects/p/experiments/e/runs" / run.id
    assert [p.name for p in ws.projects()] == ["p"]
    assert [e.name for e in ws.project("p").experiments()] == ["e"]


def test_add_run_records_params_and_pending_status(ws: Workspace) -> None:
    run = ws.project("p").experiment("e").add_run(params={"lr": 0.1, "layers": [1, 2]}, tags=["a"])
    doc = strict_loads((run.path / "run.json").read_bytes())
    assert doc["status"] == "pending" and doc["params"] == {"lr": 0.1, "layers": [1, 2]}
    assert doc["project"] == "p" and doc["experiment"] == "e" and doc["run_id"] == run.id
    assert run.status is RunStatus.PENDING
    assert str(run.status) == "pending" and RunStatus("pending") is RunStatus.PENDING
    assert run.params == {"lr": 0.1, "layers": [1, 2]} and run.tags == ("a",)
    assert run.results == {} and run.error is None and run.attempt == 0
    assert run.created_at is not None and run.started_at is None


def test_attrs_params_and_explicit_run_ids(ws: Workspace) -> None:
    @attrs.frozen
    class Params:
        temperature: float
        steps: int

    exp = ws.project("p").experiment("e")
    run = exp.add_run(Params(300.0, 10), run_id="baseline")
    assert run.id == "baseline" and run.params == {"temperature": 300.0, "steps": 10}
    with pytest.raises(RunStateError, match="'baseline' already exists"):
        exp.add_run(run_id="baseline")
    assert exp.run("baseline") == run
    assert ws.run("baseline") == run


def test_run_ids_are_unique_and_sorted_by_creation(ws: Workspace) -> None:
    exp = ws.project("p").experiment("e")
    runs = [exp.add_run(params={"i": i}) for i in range(5)]
    assert len({r.id for r in runs}) == 5
    assert {r.id for r in exp.runs()} == {r.id for r in runs}


def test_lookup_by_id_across_the_workspace(ws: Workspace, tmp_path: Path) -> None:
    run = ws.project("p").experiment("e").add_run()
    other = Workspace(ws.root)
    assert other.run(run.id) == run
    assert other.run(run.id).params == {}


def test_unknown_runs_are_clear_errors(ws: Workspace) -> None:
    exp = ws.project("p").experiment("e")
    exp.add_run()
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        ws.run("nope")
    with pytest.raises(RunNotFoundError, match="experiment p/e has no run 'nope'"):
        exp.run("nope")
    with pytest.raises(ValueError, match="invalid run id"):
        ws.run("../escape")


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 200, "a b", "é"])
def test_scope_names_are_single_portable_folder_names(ws: Workspace, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid project name"):
        ws.project(bad)
    with pytest.raises(ValueError, match="invalid experiment name"):
        ws.project("p").experiment(bad)
    assert not ws.root.exists()


def test_params_must_be_json_values(ws: Workspace) -> None:
    exp = ws.project("p").experiment("e")
    with pytest.raises(TypeError, match=r"run params: value at value\['s'\] of type builtins.set"):
        exp.add_run(params={"s": {1, 2}})
    with pytest.raises(TypeError, match="must be a mapping"):
        exp.add_run(params=[1, 2])
    assert exp.runs() == []


def test_workspace_root_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        Workspace(tmp_path / "file")
