"""``experiment.sweep(wf, grid=..., replicas=...)`` and ``RunSet.execute``: one run per cell x
replica, params and seeds recorded and given to the workflow, ids derived from the cell (a
repeated sweep adds nothing and resumes unfinished cells), values checked before any run."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from molexp import Workflow
from molexp.sweeps import SweepError, cells, parse_values
from molexp.workspace import Workspace

from .toy_workflow import Energy, wf

BASE = {"temperature": 1.0, "seed": 7, "md": {"steps": 10, "dt": 0.5}}


def test_cells_cross_the_grid_and_zip_the_zipped() -> None:
    got = cells({"a": [1, 2], "b": ["x", "y"]}, {"c": [10, 20], "d": [True, False]})
    assert got[:3] == [
        {"a": 1, "b": "x", "c": 10, "d": True},
        {"a": 1, "b": "x", "c": 20, "d": False},
        {"a": 1, "b": "y", "c": 10, "d": True},
    ]
    assert len(got) == 8
    with pytest.raises(SweepError, match="same number of values: c has 2, d has 1"):
        cells({}, {"c": [1, 2], "d": [1]})
    with pytest.raises(SweepError, match="'a' is both in the grid and zipped"):
        cells({"a": [1]}, {"a": [2]})


def test_parse_values_reads_toml_literals_and_keeps_bracketed_commas() -> None:
    assert parse_values("md.steps=1, 2,3") == ("md.steps", [1, 2, 3])
    assert parse_values('x=[1,2],"a,b",plain,1.5,true') == (
        "x",
        [[1, 2], "a,b", "plain", 1.5, True],
    )
    with pytest.raises(SweepError, match="empty value"):
        parse_values("x=1,,2")
    with pytest.raises(SweepError, match="must look like key=v1,v2"):
        parse_values("x")


def test_sweep_runs_every_cell_and_replica_with_params_and_seeds(tmp_path: Path) -> None:
    experiment = Workspace(tmp_path / "ws").project("p").experiment("scan")
    runs = experiment.sweep(wf, grid={"temperature": [1.0, 2.0]}, replicas=2, config=BASE)
    assert len(runs) == 4 and runs.added == 4
    assert [r.status.value for r in runs] == ["pending"] * 4
    report = runs.execute(parallel=2)
    assert report.ok and len(report.succeeded) == 4
    assert [r.params for r in runs] == [
        {"temperature": 1.0, "replica": 0, "seed": 7},
        {"temperature": 1.0, "replica": 1, "seed": 8},
        {"temperature": 2.0, "replica": 0, "seed": 7},
        {"temperature": 2.0, "replica": 1, "seed": 8},
    ]
    # the seed and the cell's value reached the workflow through its config
    energies = [r.results["energy"] for r in runs]
    assert energies == pytest.approx([-3.43, -3.42, -2.93, -2.92])
    assert runs[3].config["seed"] == 8 and runs[3].config["md"] == {"steps": 10, "dt": 0.5}
    assert runs[0].id.startswith("temperature1.0-r0-")


def test_a_repeated_sweep_adds_nothing_and_resumes_only_unfinished_cells(tmp_path: Path) -> None:
    experiment = Workspace(tmp_path / "ws").project("p").experiment("scan")
    grid = {"temperature": [1.0, 9.0]}
    first = experiment.sweep(wf, grid=grid, config=BASE)
    report = first.execute()
    assert [r.id for r in report.succeeded] == [first[0].id]
    assert [r.id for r in report.failed] == [first[1].id]
    assert first[1].error is not None and "too hot" in first[1].error.message
    again = experiment.sweep(wf, grid=grid, config=BASE)
    assert again.added == 0 and [r.id for r in again] == [r.id for r in first]
    assert again.unfinished() == [first[1]]
    second = again.execute()
    assert [r.id for r in second.skipped] == [first[0].id]
    assert [r.id for r in second.failed] == [first[1].id]
    assert first[1].attempt == 2 and first[0].attempt == 1
    assert len(experiment.runs()) == 2
    # a different base config is a different cell: new runs
    other = experiment.sweep(wf, grid=grid, config={**BASE, "md": {"steps": 20, "dt": 0.5}})
    assert other.added == 2 and len(experiment.runs()) == 4


def test_values_are_checked_before_any_run_is_created(tmp_path: Path) -> None:
    experiment = Workspace(tmp_path / "ws").project("p").experiment("scan")
    with pytest.raises(
        SweepError, match=r"temprature: unknown config key; did you mean 'temperature'"
    ):
        experiment.sweep(wf, grid={"temprature": [1.0]}, config=BASE)
    with pytest.raises(SweepError, match=r"md.steps='x': expected int .*got str"):
        experiment.sweep(wf, grid={"md.steps": [1, 2, "x"]}, config=BASE)
    with pytest.raises(SweepError, match=r"temperature=True: expected float"):
        experiment.sweep(wf, grid={"temperature": [1.0, True]}, config=BASE)
    with pytest.raises(SweepError, match="replicas must be a positive integer"):
        experiment.sweep(wf, grid={"temperature": [1.0]}, config=BASE, replicas=0)
    assert experiment.runs() == []


def test_run_ids_differ_between_experiments(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    a = ws.project("p").experiment("a").sweep(wf, grid={"temperature": [1.0]}, config=BASE)
    b = ws.project("p").experiment("b").sweep(wf, grid={"temperature": [1.0]}, config=BASE)
    assert a[0].id != b[0].id


@attrs.frozen
class MD:
    steps: int
    dt: float


@attrs.frozen
class Config:
    temperature: float
    seed: int
    md: MD


def test_a_declared_config_class_checks_every_cell(tmp_path: Path) -> None:
    typed = Workflow("typed", config=Config)
    typed.add(Energy())
    experiment = Workspace(tmp_path / "ws").project("p").experiment("typed")
    with pytest.raises(SweepError, match=r"md.stpes: unknown config key; did you mean 'md.steps'"):
        experiment.sweep(typed, grid={"md.stpes": [1]}, config=BASE)
    with pytest.raises(SweepError, match=r"does not fit Config: extra fields found \(extra\)"):
        experiment.sweep(typed, grid={"temperature": [1.0]}, config={**BASE, "extra": 1})
    assert experiment.runs() == []
    runs = experiment.sweep(typed, grid={"md.steps": [1, 2]}, config=BASE)
    assert runs.execute().ok and [r.results["steps"] for r in runs] == [1, 2]


def test_add_runs_creates_many_and_leaves_nothing_half_made(tmp_path: Path) -> None:
    from molexp.workspace import RunStateError

    experiment = Workspace(tmp_path / "ws").project("p").experiment("batch")
    runs = experiment.add_runs([("a1", {"x": 1}), ("a2", {"x": 2})], tags=["t"])
    assert [(r.id, r.params, r.status.value, r.tags) for r in runs] == [
        ("a1", {"x": 1}, "pending", ("t",)),
        ("a2", {"x": 2}, "pending", ("t",)),
    ]
    with pytest.raises(RunStateError, match="run id 'a2' already exists"):
        experiment.add_runs([("b1", {}), ("a2", {})])
    assert sorted(r.id for r in experiment.runs()) == ["a1", "a2"]
    assert not (experiment.path / "runs" / "b1").exists()
    other = Workspace(tmp_path / "ws").project("p").experiment("other")
    with pytest.raises(RunStateError, match="run ids are unique per workspace"):
        other.add_runs([("a1", {})])
