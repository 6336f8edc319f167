"""The report's data layer and renderer, without a browser: log parsing, replica cells,
per-task records, the graph's layers, and the page's embedded data."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import attrs
import pytest

from molexp import Task, TaskContext, Workflow
from molexp.report import collect, render_html
from molexp.report.data import (
    GraphEdge,
    GraphNode,
    GraphSpec,
    graph_from_record,
    graph_from_workflow,
    log_lines,
    parse_log_line,
    task_timings,
)
from molexp.report.graph import collapse, layers
from molexp.workspace import Workspace


def test_parse_log_line_forms() -> None:
    assert parse_log_line("-4.25") == {"": -4.25}
    assert parse_log_line("step=3 energy=-4.2e0 T: 300") == {
        "step": 3.0,
        "energy": -4.2,
        "T": 300.0,
    }
    assert parse_log_line('{"step": 2, "md": {"energy": -1.5}, "note": "x"}') == {
        "step": 2.0,
        "md.energy": -1.5,
    }
    assert parse_log_line("sweep 10 energy/N -3.7192") == {"sweep": 10.0, "energy/N": -3.7192}
    assert parse_log_line("step: 3, T: 1.5e2;") == {"step": 3.0, "T": 150.0}
    assert parse_log_line("run2 finished in 3s") == {}  # 3s is not a number
    assert parse_log_line("starting production") == {}
    assert parse_log_line("") == {}
    assert parse_log_line("NaN") == {}  # JSON's NaN is no point to draw


def test_log_lines_use_a_step_key_as_x_when_every_line_has_it() -> None:
    x_key, series = log_lines(
        ["begin", "step=0 energy=-1 pressure=2", "step=5 energy=-2", "step=10 energy=-3"]
    )
    assert x_key == "step"
    assert series == {"energy": [(0.0, -1.0), (5.0, -2.0), (10.0, -3.0)]}  # pressure: 1 point
    # the lj_fluid example's log: `step` is an MC step size there, `sweep` the counter
    x_key, series = log_lines(
        [
            "sweep 50 energy/N -4.6656 acceptance 0.37 step 0.310",
            "sweep 100 energy/N -4.1686 acceptance 0.52 step 0.291",
        ]
    )
    assert x_key == "sweep"
    assert series["energy/N"] == [(50.0, -4.6656), (100.0, -4.1686)]
    assert series["step"] == [(50.0, 0.31), (100.0, 0.291)]
    x_key, series = log_lines(["1.5", "2.5", "text", "3.5"])
    assert x_key == "" and series == {"": [(0.0, 1.5), (1.0, 2.5), (2.0, 3.5)]}


def test_task_timings_from_the_execution_record_or_a_tasks_key() -> None:
    # what `molexp run` records in run.json (`execution`, per task: status, duration, attempt)
    recorded = task_timings(
        {
            "execution": {
                "workflow": "w",
                "tasks": {
                    "prepare": {"status": "succeeded", "duration": 0.25, "attempt": 1},
                    "relax": {"status": "cancelled", "duration": None, "attempt": 2},
                },
            }
        }
    )
    assert [(t.task, t.seconds, t.status, t.attempt) for t in recorded] == [
        ("prepare", 0.25, "succeeded", 1),
        ("relax", None, "cancelled", 2),
    ]
    listed = task_timings(
        {"tasks": [{"id": "relax", "seconds": 2, "status": "failed", "attempts": [{}, {}]}]}
    )
    assert [(t.task, t.seconds, t.status, t.attempt) for t in listed] == [
        ("relax", 2.0, "failed", 2)
    ]
    assert task_timings({}) == [] and task_timings({"tasks": "nonsense"}) == []


class Prepare(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 1


class Combine(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 2


def test_graph_from_a_workflow_and_its_layers() -> None:
    wf = Workflow("g")
    a = wf.add(Prepare(), name="a")
    b = wf.add(Prepare(), after=a, name="b")
    c = wf.add(Prepare(), after=a, name="c")
    wf.add(Combine(), after={"left": b, "right": c}, name="d")
    graph = graph_from_workflow(wf)
    assert [(n.id, n.label) for n in graph.nodes] == [
        ("a", "Prepare"),
        ("b", "Prepare"),
        ("c", "Prepare"),
        ("d", "Combine"),
    ]
    assert {(e.source, e.target, e.label) for e in graph.edges} == {
        ("a", "b", ""),
        ("a", "c", ""),
        ("b", "d", "left"),
        ("c", "d", "right"),
    }
    assert layers(graph) == [["a"], ["b", "c"], ["d"]]
    assert graph_from_record(graph.to_json()) == graph  # the recorded form reads back


def test_map_elements_are_folded_in_a_large_graph() -> None:
    nodes = [GraphNode("root", "R"), *(GraphNode(f"relax[{i}]", "Relax") for i in range(3))]
    edges = [GraphEdge("root", f"relax[{i}]") for i in range(3)]
    folded = collapse(GraphSpec("m", tuple(nodes), tuple(edges)))
    assert [n.id for n in folded.nodes] == ["root", "relax[*]"]
    assert [(e.source, e.target) for e in folded.edges] == [("root", "relax[*]")]


ENERGY = {(300, 0): -4.30, (300, 1): -4.32, (300, 2): -4.31, (400, 0): -4.40, (400, 1): -4.44}


@pytest.fixture
def scan(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    experiment = ws.project("p").experiment("scan")
    for (temperature, seed), energy in ENERGY.items():
        run = experiment.add_run(
            {"temperature": temperature, "seed": seed, "label": "</script><b>x"},
            run_id=f"t{temperature}-s{seed}",
        )
        with run.start() as rc:
            rc.set_result("energy", energy)
            log = rc.log("md")
            for step in range(3):
                log.append(f"step={step * 10} energy={energy + step}")
            rc.artifact.save("final.json", {"T": temperature})
    return ws


def test_sweep_cells_are_replica_means_with_standard_errors(scan: Workspace) -> None:
    runs = scan.project("p").experiment("scan").runs()
    data = collect(runs, title="scan", report_folder=scan.root)
    assert data.params == ("seed", "temperature")  # label: the same in every run
    assert data.constants == {"label": "</script><b>x"}
    (plot,) = data.sweeps
    assert (plot.result, plot.param, plot.lines_total) == ("energy", "temperature", 1)
    (series,) = plot.series
    for point in series.points:
        values = [e for (t, _), e in ENERGY.items() if t == point.x]
        assert point.mean == pytest.approx(statistics.fmean(values))
        assert point.stderr == pytest.approx(statistics.stdev(values) / len(values) ** 0.5)
        assert point.n == len(values)
    (log,) = data.logs
    assert (log.log, log.key, log.x_key, len(log.lines)) == ("md", "energy", "step", 5)
    assert {a.name for a in data.artifacts} == {"final.json"}
    assert all(a.href.endswith("artifacts/final.json") for a in data.artifacts)


def test_page_embeds_its_data_safely(scan: Workspace) -> None:
    runs = scan.project("p").experiment("scan").runs()
    data = collect(runs, title="scan <&>", report_folder=scan.root)
    html = render_html(data)
    # A param value holding </script> cannot end the data block or inject markup.
    assert html.count("</script>") == 1
    assert "<b>x" not in html
    embedded = re.search(
        r'<script type="application/json" id="molexp-report-data">(.*?)</script>', html, re.S
    )
    assert embedded is not None
    assert json.loads(embedded.group(1)) == data.to_json()
    assert "scan &lt;&amp;&gt;" in html
    # offline: nothing in the page points at a network location
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_single_run_page_config_and_timings(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    run = ws.project("p").experiment("e").add_run({"x": 1}, run_id="one")
    with run.start(profile={"md": {"dt": 0.5}, "seed": 7}):
        pass
    data = collect([run], title="one", report_folder=tmp_path)
    assert data.timings == ()
    assert data.params == ("x",) and data.config == {"md.dt": 0.5, "seed": 7}
    html = render_html(data)
    assert '<tr><td><code>md.dt</code></td><td class="num">0.5</td></tr>' in html
    assert "No per-task times were recorded for this run." in html
    assert "give it with <code>molexp report ... --workflow" in html

    # a run that recorded per-task records (run.json "execution") gets the bars and a table
    timed = attrs.evolve(
        data,
        timings=tuple(
            task_timings(
                {
                    "execution": {
                        "tasks": {
                            "prepare": {"status": "succeeded", "duration": 0.004, "attempt": 1},
                            "relax": {"status": "failed", "duration": 2.5, "attempt": 3},
                            "report": {"status": "not started", "duration": None},
                        }
                    }
                }
            )
        ),
    )
    html = render_html(timed)
    assert 'id="timing-prepare"' in html and 'id="timing-relax"' in html  # the bars
    assert re.search(
        r'<tr data-task="relax"><td>relax</td><td class="num">2.50 s</td>'
        r'<td class="status-failed">failed</td><td class="num">3</td></tr>',
        html,
    )
    assert '<td class="num">4.0 ms</td>' in html
    assert '<td class="status-not-started">not started</td>' in html


def test_many_lines_are_capped_and_said_so(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    experiment = ws.project("p").experiment("grid")
    for a in range(12):
        for b in (1, 2):
            run = experiment.add_run({"a": a, "b": b}, run_id=f"a{a}-b{b}")
            with run.start() as rc:
                rc.set_result("y", a * b)
    data = collect(experiment.runs(), title="grid", report_folder=tmp_path)
    by_param = {p.param: p for p in data.sweeps}
    assert (len(by_param["b"].series), by_param["b"].lines_total) == (10, 12)  # a line per a
    assert (len(by_param["a"].series), by_param["a"].lines_total) == (2, 2)
    assert "(the first 10 of 12 lines)" in render_html(data)


def test_a_tracked_execution_records_its_graph_for_the_report(tmp_path: Path) -> None:
    import asyncio

    from molexp import WorkflowRuntime

    class Step(Task[TaskContext[None, None, object], int]):
        async def execute(self, ctx: TaskContext[None, None, object]) -> int:
            return 1

    wf: Workflow[None, None, None] = Workflow("recorded")
    first = wf.add(Step(), name="first")
    second = wf.add(Step(), after=first, name="second")
    wf.add(Step(), after={"a": first, "b": second}, name="join")
    run = Workspace(tmp_path / "ws").project("p").experiment("e").add_run()

    async def go() -> None:
        async with run.start() as rc:
            (await WorkflowRuntime().execute(wf, run_context=rc)).raise_for_status()

    asyncio.run(go())
    data = collect([run], title="recorded", report_folder=tmp_path)  # no --workflow
    assert data.graph is not None and data.graph == attrs.evolve(
        graph_from_workflow(wf), nodes=data.graph.nodes
    )
    assert [n.id for n in data.graph.nodes] == ["first", "second", "join"]
    assert {(e.source, e.target, e.label) for e in data.graph.edges} == {
        ("first", "second", ""),
        ("first", "join", "a"),
        ("second", "join", "b"),
    }
    assert [n.status for n in data.graph.nodes] == ["succeeded"] * 3  # from the timings
