"""The report in a real headless Chromium (Debian's ``chromium``), driven over the DevTools
protocol: the page loads with no console error and no request but its own file, a
screenshot is not blank, and what the plots were drawn from (the embedded data, read
through the DOM) and how they were drawn (the SVG markers) match the run records.

Chromium is installed by ``.ci/run``; outside CI the test is skipped when it is absent, in
CI (``CI=true``) it fails instead.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from molexp.workspace import Workspace

from .cdp import chromium_path, open_browser

TEMPERATURES = (300, 350, 400)
PRESSURES = (1, 2)
SEEDS = (0, 1, 2)


def energy(temperature: int, pressure: int, seed: int) -> float:
    return -4.0 - temperature / 1000 + 0.1 * pressure + 0.013 * seed * (seed - 1) - 0.004 * seed


WORKFLOW = textwrap.dedent(
    """
    from molexp import Task, TaskContext, Workflow

    class Build(Task):
        async def execute(self, ctx: TaskContext) -> int:
            return 1

    class Simulate(Task):
        async def execute(self, ctx: TaskContext) -> int:
            return 2

    class Analyze(Task):
        async def execute(self, ctx: TaskContext) -> int:
            return 3

    wf = Workflow("lj-scan")
    build = wf.add(Build(), name="build")
    md = wf.add(Simulate(), after=build, name="md")
    wf.add(Analyze(), after={"trajectory": md, "system": build}, name="analyze")
    """
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("report")
    ws = Workspace(base / "ws")
    experiment = ws.project("lab").experiment("scan")
    for temperature in TEMPERATURES:
        for pressure in PRESSURES:
            for seed in SEEDS:
                params = {"temperature": temperature, "pressure": pressure, "seed": seed}
                run = experiment.add_run(params, run_id=f"t{temperature}-p{pressure}-s{seed}")
                with run.start() as rc:
                    e = energy(temperature, pressure, seed)
                    log = rc.log("md")
                    for step in range(0, 50, 5):
                        log.append(f"step={step} energy={e - 0.01 * step:.6f}")
                    rc.set_result("energy", e)
                    rc.artifact.save("summary.json", {"energy": e})
    failed = experiment.add_run({"temperature": 450, "pressure": 1, "seed": 0}, run_id="z-diverged")
    with pytest.raises(RuntimeError), failed.start():
        raise RuntimeError("diverged")
    ws.close()
    (base / "flow.py").write_text(WORKFLOW)
    out = base / "out" / "report.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "molexp",
            "report",
            "--experiment",
            "scan",
            "--workspace",
            str(base / "ws"),
            "-o",
            str(out),
            "--workflow",
            str(base / "flow.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out}" in proc.stdout
    return base / "ws", out


def _browser() -> str:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); CI installs it")
    return found


def _expected_cells(ws_root: Path) -> dict[tuple[int, int], tuple[float, float, int]]:
    """(temperature, pressure) -> (mean, standard error, n), straight from the run records."""
    ws = Workspace(ws_root)
    values: dict[tuple[int, int], list[float]] = {}
    for run in ws.project("lab").experiment("scan").runs():
        if str(run.status) == "succeeded":
            key = (run.params["temperature"], run.params["pressure"])
            values.setdefault(key, []).append(run.results["energy"])
    ws.close()
    return {
        key: (statistics.fmean(v), statistics.stdev(v) / len(v) ** 0.5, len(v))
        for key, v in values.items()
    }


def test_report_in_headless_chromium(report: tuple[Path, Path]) -> None:
    ws_root, page = report
    with open_browser(_browser()) as browser:
        session, seen = browser.load(page.as_uri())
        assert seen.requests == [page.as_uri()]  # the page itself, nothing else
        assert seen.console_errors == [] and seen.exceptions == []
        data: dict[str, Any] = browser.evaluate(
            session,
            "JSON.parse(document.getElementById('molexp-report-data').textContent)",
        )
        drawn = browser.evaluate(
            session,
            """Array.from(document.querySelectorAll('figure[data-kind="sweep"]')).map(f => ({
                 id: f.id, result: f.dataset.result, param: f.dataset.param,
                 series: Array.from(f.querySelectorAll('g[id^="' + f.id + '-series-"]')).map(
                   g => Array.from(g.querySelectorAll('use')).map(
                     u => [parseFloat(u.getAttribute('x')), parseFloat(u.getAttribute('y'))]))
               }))""",
        )
        shown = browser.evaluate(
            session,
            """({rows: Array.from(document.querySelectorAll('#runs-table tr[data-run]'))
                       .map(r => r.dataset.run),
                 nodes: Array.from(document.querySelectorAll('figure.graph g[id^="node-"]'))
                       .map(g => g.id),
                 links: Array.from(document.querySelectorAll('#artifacts-table a'))
                       .map(a => a.href),
                 height: document.body.scrollHeight})""",
        )
        png = browser.screenshot(session)

    # every run is a row; the failed one too
    assert len(shown["rows"]) == len(TEMPERATURES) * len(PRESSURES) * len(SEEDS) + 1
    assert "z-diverged" in shown["rows"]
    assert sorted(shown["nodes"]) == ["node-analyze", "node-build", "node-md"]
    assert len(shown["links"]) == 18 and all(
        link.startswith("file://") and link.endswith("/artifacts/summary.json")
        for link in shown["links"]
    )

    # what the sweep plots were drawn from is what the runs recorded
    expected = _expected_cells(ws_root)
    plots = {p["id"]: p for p in data["plots"] if p["kind"] == "sweep"}
    by_axis = {(p["result"], p["param"]): p for p in plots.values()}
    assert set(by_axis) == {("energy", "temperature"), ("energy", "pressure")}
    checked = 0
    for (_, param), plot in by_axis.items():
        other = "pressure" if param == "temperature" else "temperature"
        for series in plot["series"]:
            fixed = int(series["label"].removeprefix(f"{other}="))
            for point in series["points"]:
                key = (
                    (int(point["x"]), fixed) if param == "temperature" else (fixed, int(point["x"]))
                )
                mean, stderr, n = expected[key]
                assert point["mean"] == pytest.approx(mean, abs=1e-12)
                assert point["stderr"] == pytest.approx(stderr, abs=1e-12)
                assert point["n"] == n == len(SEEDS)
                checked += 1
    assert checked == 2 * len(TEMPERATURES) * len(PRESSURES)

    # and the SVG draws one marker per point, higher means higher on the page
    for figure in drawn:
        plot = plots[figure["id"]]
        assert (figure["result"], figure["param"]) == (plot["result"], plot["param"])
        assert len(figure["series"]) == len(plot["series"])
        for markers, series in zip(figure["series"], plot["series"], strict=True):
            points = series["points"]
            assert len(markers) == len(points)
            xs = [m[0] for m in markers]
            assert xs == sorted(xs)  # x grows left to right, as the values do
            by_mean = sorted(range(len(points)), key=lambda i: points[i]["mean"])
            by_height = sorted(range(len(markers)), key=lambda i: -markers[i][1])
            assert by_mean == by_height

    # the log series: one line per run, points as logged
    (log_plot,) = [p for p in data["plots"] if p["kind"] == "log"]
    assert (log_plot["log"], log_plot["key"], log_plot["x"]) == ("md", "energy", "step")
    first = log_plot["lines"][0]
    t, p, s = (int(v[1:]) for v in first["run"].split("-"))
    assert first["points"][3] == [15.0, pytest.approx(energy(t, p, s) - 0.15, abs=1e-6)]

    # a screenshot that is not blank: many colours, and not mostly one
    import numpy as np
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    colours, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) > 50
    assert counts.max() < 0.9 * counts.sum()
