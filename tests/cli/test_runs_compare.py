"""``molexp runs list`` / ``runs compare`` through the real CLI: the params that differ, results,
filters, JSON, run-id prefixes and ``latest``, replicas as mean ± standard error."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from molexp.run_table import parse_where, resolve_run_id
from molexp.workspace import Workspace

ENERGY = {(300, 0): -4.30, (300, 1): -4.32, (300, 2): -4.31, (400, 0): -4.40, (400, 1): -4.44}


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan") / "ws"
    ws = Workspace(root)
    experiment = ws.project("p").experiment("scan")
    for (temperature, seed), energy in ENERGY.items():
        params = {"temperature": temperature, "md": {"dt": 0.5, "steps": 100}, "seed": seed}
        run = experiment.add_run(params, run_id=f"t{temperature}-s{seed}")
        with run.start() as rc:
            rc.set_result("energy", energy)
            rc.set_result("label", f"T={temperature}")
    failed = ws.project("p").experiment("other").add_run({"temperature": 500}, run_id="z-fail")
    with pytest.raises(RuntimeError), failed.start():
        raise RuntimeError("diverged")
    ws.close()
    return root


def _molexp(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args, "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compare_shows_what_differs_and_summarises_replicas(scan: Path) -> None:
    proc = _molexp(scan, "runs", "compare", "--experiment", "scan")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["RUN", "EXPERIMENT", "STATUS", "DURATION"]
    assert header[4:] == ["seed", "temperature", "energy", "label"]  # md.* hidden: identical
    assert [line.split()[0] for line in lines[1:6]] == [f"t{t}-s{s}" for t, s in ENERGY]
    assert "(2 params identical in every run hidden: --all-params shows them)" in proc.stdout
    cells = {line.split()[0]: line for line in lines if line[:3] in ("300", "400")}
    for temperature in (300, 400):
        values = [e for (t, _), e in ENERGY.items() if t == temperature]
        mean = statistics.fmean(values)
        stderr = statistics.stdev(values) / len(values) ** 0.5
        assert f"{len(values)}  " in cells[str(temperature)]
        assert f"{mean:.6g} ± {stderr:.2g}" in cells[str(temperature)]
    every = _molexp(scan, "runs", "compare", "--experiment", "scan", "--all-params")
    assert "md.dt" in every.stdout.splitlines()[0] and "md.steps" in every.stdout


def test_compare_json_and_named_runs(scan: Path) -> None:
    proc = _molexp(scan, "runs", "compare", "t300-s0", "t400", "z-f", "--json")
    assert proc.returncode == 2
    assert "ambiguous: 2 runs start with it" in proc.stderr
    proc = _molexp(scan, "runs", "compare", "t300-s0", "t400-s1", "z-f", "--json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["params"] == ["md.dt", "md.steps", "seed", "temperature"]
    runs = {r["run_id"]: r for r in document["runs"]}
    assert runs["t400-s1"]["results"]["energy"] == -4.44  # every digit
    assert runs["t400-s1"]["params"]["seed"] == 1
    assert runs["z-fail"]["status"] == "failed" and runs["z-fail"]["params"] == {"temperature": 500}
    assert "cells" not in document  # no cell has two replicas here


def test_list_filters_columns_and_json(scan: Path) -> None:
    proc = _molexp(scan, "runs", "list", "--where", "results.energy < -4.35")
    assert proc.returncode == 0, proc.stderr
    assert sorted(line.split()[0] for line in proc.stdout.splitlines()[1:]) == [
        "t400-s0",
        "t400-s1",
    ]
    both = _molexp(
        scan,
        "runs",
        "--where",
        "params.temperature == 300",
        "--where",
        "params.seed >= 1",
        "--json",
    )
    assert sorted(r["run_id"] for r in json.loads(both.stdout)) == ["t300-s1", "t300-s2"]
    failed = _molexp(scan, "runs", "--status", "failed", "--json")
    assert [r["run_id"] for r in json.loads(failed.stdout)] == ["z-fail"]
    bad = _molexp(scan, "runs", "--where", "energy < 3")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --where 'energy < 3'")
    none = _molexp(scan, "runs", "--where", "results.energy > 0")
    assert none.returncode == 0 and none.stdout.strip() == "no runs match"


def test_run_ids_by_prefix_and_latest(scan: Path) -> None:
    shown = _molexp(scan, "runs", "show", "z-")
    assert shown.returncode == 0, shown.stderr
    assert "run:        z-fail" in shown.stdout
    latest = _molexp(scan, "runs", "show", "latest")
    assert latest.returncode == 0 and "run:        z-fail" in latest.stdout
    assets = _molexp(scan, "assets", "--run", "latest")
    assert assets.returncode == 0 and "no assets" in assets.stdout  # z-fail saved none
    missing = _molexp(scan, "runs", "show", "nope")
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr


@pytest.mark.parametrize(
    ("text", "field", "op", "value"),
    [
        ("results.energy < -4", "results.energy", "<", -4),
        ("params.md.dt==0.5", "params.md.dt", "==", 0.5),
        ("status == failed", "status", "==", "failed"),
        ("params.name != 'a b'", "params.name", "!=", "a b"),
        ("duration >= 1e3", "duration", ">=", 1000.0),
    ],
)
def test_parse_where(text: str, field: str, op: str, value: object) -> None:
    condition = parse_where(text)
    assert (condition.field, condition.op, condition.value) == (field, op, value)


def test_resolve_run_id() -> None:
    ids = ["b2", "a1", "a2"]
    assert resolve_run_id("latest", ids) == "b2"
    assert resolve_run_id("b", ids) == "b2"
    assert resolve_run_id("a1", ids) == "a1"
    with pytest.raises(LookupError, match="ambiguous: 2 runs"):
        resolve_run_id("a", ids)
    with pytest.raises(LookupError, match="no runs yet"):
        resolve_run_id("latest", [])
