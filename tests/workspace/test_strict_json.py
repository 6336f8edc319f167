"""Strict JSON everywhere molexp writes: no NaN/Infinity at any depth, no cycles, no
unbounded nesting, each rejected naming where, before anything is written.

What was written is read back with a strict parser (``parse_constant`` raising):
``json.loads`` alone accepts ``NaN`` and would hide a leak.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from molexp import (
    Actor,
    ActorContext,
    ProfileConfig,
    Task,
    TaskContext,
    Workflow,
    WorkflowRuntime,
)
from molexp.workspace import RunContext, Workspace
from molexp.workspace import encoding as encoding_module
from molexp.workspace.encoding import MAX_DEPTH

from .conftest import assert_strict_json_tree, strict_loads

NAN = float("nan")
INF = float("inf")


@attrs.define
class Sample:
    x: float = 0.0
    xs: list[float] = attrs.Factory(list)


@attrs.define
class Node:
    child: Node | None = None


@dataclasses.dataclass
class Holder:
    inner: Sample
    pairs: tuple[tuple[float, float], ...] = ()


def _self_list() -> list[Any]:
    value: list[Any] = [1.0]
    value.append(value)
    return value


def _self_dict_in_list() -> list[Any]:
    inner: dict[str, Any] = {"e": 1.0}
    inner["again"] = [inner]
    return [0, inner]


def _self_node() -> Node:
    node = Node()
    node.child = Node(child=node)
    return node


def _deep_list(levels: int) -> list[Any]:
    top: list[Any] = []
    current = top
    for _ in range(levels - 1):
        nxt: list[Any] = []
        current.append(nxt)
        current = nxt
    return top


def _deep_node(levels: int) -> Node:
    top = Node()
    current = top
    for _ in range(levels - 1):
        current.child = Node()
        current = current.child
    return top


# (case id, value factory, regex the error must match after "<what>: ")
BAD: list[tuple[str, Callable[[], Any], str]] = [
    ("nan", lambda: NAN, r"value at value is nan; JSON has no NaN or Infinity"),
    ("list", lambda: [1.0, NAN], r"value at value\[1\] is nan;"),
    ("tuple", lambda: (0.0, (1.0, INF)), r"value at value\[1\]\[1\] is inf;"),
    ("dict", lambda: {"a": -INF}, r"value at value\['a'\] is -inf;"),
    (
        "mixed",
        lambda: {"a": [{"b": (0, NAN)}]},
        r"value at value\['a'\]\[0\]\['b'\]\[1\] is nan;",
    ),
    ("attrs", lambda: Sample(x=NAN), r"value at value\['x'\] is nan;"),
    ("attrs-list", lambda: Sample(xs=[1.0, 2.0, INF]), r"value at value\['xs'\]\[2\] is inf;"),
    (
        "dataclass",
        lambda: Holder(Sample(), pairs=((1.0, 2.0), (3.0, -INF))),
        r"value at value\['pairs'\]\[1\]\[1\] is -inf;",
    ),
    (
        "dataclass-attrs",
        lambda: Holder(Sample(xs=[NAN])),
        r"value at value\['inner'\]\['xs'\]\[0\] is nan;",
    ),
    ("self-list", _self_list, r"value at value\[1\] is value itself \(a cycle\)"),
    (
        "self-dict",
        _self_dict_in_list,
        r"value at value\[1\]\['again'\]\[0\] is value\[1\] itself \(a cycle\)",
    ),
    ("self-attrs", _self_node, r"value at value\.child\.child is value itself \(a cycle\)"),
    (
        "deep-list",
        lambda: _deep_list(5000),
        rf"value nests deeper than {MAX_DEPTH} levels \(at value\[0\]\[0\]",
    ),
    (
        "deep-attrs",
        lambda: _deep_node(5000),
        # found before cattrs recurses (Python 3.13.0 crashes on a C stack overflow there)
        rf"value nests deeper than {MAX_DEPTH} levels \(at value\.child\.child",
    ),
]


class Sinks:
    """Every way a task stores a JSON value: locally and staged on a worker."""

    def __init__(self, rc: RunContext) -> None:
        self.rc = rc
        self.worker = rc.ticket().open()
        self.local = rc.bind_task("t")
        self.remote = self.worker.bind_task("t")

    def call(self, sink: str, value: Any) -> str:
        """Store ``value`` through ``sink``; returns the ``what`` its errors start with."""
        target = self.remote if sink.startswith("staged") else self.local
        kind = sink.removeprefix("staged ")
        if kind == "artifact":
            target.artifact.save("x.json", value)
            return "artifact 'x.json' of run"
        if kind == "checkpoint":
            target.checkpoint("c", data=value)
            return "checkpoint 'c' of run"
        target.set_result("k", value)
        return "result 'k' of run"


SINKS = [
    "artifact",
    "checkpoint",
    "result",
    "staged artifact",
    "staged checkpoint",
    "staged result",
]
WHAT = {"artifact": "artifact 'x.json'", "checkpoint": "checkpoint 'c'", "result": "result 'k'"}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def sinks(ws: Workspace) -> Iterator[Sinks]:
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        yield Sinks(rc)


@pytest.mark.parametrize("sink", SINKS)
@pytest.mark.parametrize(("case", "make", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_values_are_rejected_naming_where_and_nothing_is_written(
    ws: Workspace, sinks: Sinks, sink: str, case: str, make: Callable[[], Any], message: str
) -> None:
    before = _files(ws.root)
    what = WHAT[sink.removeprefix("staged ")]
    with pytest.raises(TypeError, match=rf"^{re.escape(what)} of run \S+: {message}") as caught:
        sinks.call(sink, make())
    assert len(str(caught.value)) < 400  # a deep path is shortened, not 5,000 segments
    assert _files(ws.root) == before  # nothing written, not even a version file
    staged = sinks.worker.take_staged()
    assert staged.records == () and staged.results == {}
    assert sinks.rc.run.results == {} and sinks.rc.run.assets() == []
    assert assert_strict_json_tree(ws.root) > 0


def test_good_values_are_written_as_strict_json(ws: Workspace) -> None:
    shared = [0.5, -0.0]
    values: dict[str, Any] = {
        "nested": {"a": [1.0, (2, 1e308)], "b": {"c": [[-1e-300]]}, "shared": shared},
        "again": shared,  # the same list twice is no cycle
        "sample": Sample(x=1.5, xs=[2.5]),
        "holder": Holder(Sample(xs=[-3.0]), pairs=((1.0, 2.0),)),
        "deepest": _deep_list(MAX_DEPTH),  # exactly the limit
    }
    plain = {
        "nested": {"a": [1.0, [2, 1e308]], "b": {"c": [[-1e-300]]}, "shared": [0.5, -0.0]},
        "again": [0.5, -0.0],
        "sample": {"x": 1.5, "xs": [2.5]},
        "holder": {"inner": {"x": 0.0, "xs": [-3.0]}, "pairs": [[1.0, 2.0]]},
        "deepest": _deep_list(MAX_DEPTH),
    }
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        sinks = Sinks(rc)
        for key, value in values.items():
            for sink in SINKS:
                sinks.call(sink, value)
            rc.set_result(key, value)
        rc.register(sinks.worker.take_staged())
        with pytest.raises(TypeError, match=rf"deeper than {MAX_DEPTH} levels"):
            rc.set_result("over", _deep_list(MAX_DEPTH + 1))  # one past the limit
    results = strict_loads((run.path / "run.json").read_bytes())["results"]
    for line in (run.path / "results.jsonl").read_bytes().splitlines():  # appended sets
        entry = strict_loads(line)
        results[entry["key"]] = entry["value"]
    assert results == {**plain, "k": plain["deepest"]}  # "k": the sinks' result, last set
    files = [a.path for a in run.assets()]
    assert len(files) == 4 * len(values)  # artifact + checkpoint, local + staged
    for path in files:
        stored = strict_loads(path.read_bytes())
        assert stored in plain.values()
    assert assert_strict_json_tree(ws.root) > len(files)


def test_params_reject_nested_non_finite_values_and_cycles(ws: Workspace) -> None:
    experiment = ws.project("p").experiment("e")
    with pytest.raises(TypeError, match=r"run params: value at value\['grid'\]\[2\] is nan"):
        experiment.add_run(params={"grid": (0.1, 0.2, NAN)})
    with pytest.raises(TypeError, match=r"value at value\['me'\] is value itself"):
        params: dict[str, Any] = {}
        params["me"] = params
        experiment.add_run(params=params)
    assert experiment.runs() == []
    run = experiment.add_run(params={"grid": [0.1, 0.2]})
    assert strict_loads((run.path / "run.json").read_bytes())["params"] == {"grid": [0.1, 0.2]}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"md": {"dt": NAN}}, r"config value at md\.dt is nan"),
        ({"grid": [0.1, [0.2, INF]]}, r"config value at grid\[1\]\[1\] is inf"),
        ({"pairs": ((1.0, 2.0), (3.0, -INF))}, r"config value at pairs\[1\]\[1\] is -inf"),
        ({"a": [{"b": {"c": NAN}}]}, r"config value at a\[0\]\.b\.c is nan"),
        ({"sample": Sample()}, r"config value at sample is a Sample"),
        ({"deep": _deep_list(5000)}, rf"config value at deep\[0\]\[0\].* deeper than {MAX_DEPTH}"),
    ],
)
def test_profiles_reject_nested_non_finite_values(config: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=rf"^profile 'p': {message}"):
        ProfileConfig(config, name="p")


def test_a_profile_that_contains_itself_is_rejected(ws: Workspace) -> None:
    config: dict[str, Any] = {"md": {"steps": 1}}
    config["md"]["back"] = [config]
    with pytest.raises(TypeError, match=r"config value at md\.back\[0\] is the top itself"):
        ProfileConfig(config)
    run = ws.project("p").experiment("e").add_run()
    with pytest.raises(TypeError, match=r"config value at md\.dt is inf"):
        run.start(profile={"md": {"dt": INF}})
    assert run.status == "pending"
    with run.start(profile={"md": {"dt": 0.5}}):
        pass
    doc = strict_loads((run.path / "run.json").read_bytes())
    assert doc["profile"]["config"] == {"md": {"dt": 0.5}}


class Frames(Actor):
    record_messages = "frames"

    def __init__(self, last: Any) -> None:
        self.last = last

    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        await ctx.send({"step": 0, "energy": -1.0})
        await ctx.send(self.last)
        yield 2


class Drain(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        return ctx.inputs


def test_recorded_actor_messages_are_strict_json(ws: Workspace) -> None:
    wf = Workflow("recorded")
    frames = wf.add(Frames({"step": 1, "energy": [0.0, NAN]}))
    wf.add(Drain(), after=frames)
    run = ws.project("p").experiment("e").add_run()

    async def main() -> Any:
        async with run.start() as rc:
            return await WorkflowRuntime().execute(wf, run_context=rc)

    result = asyncio.run(main())
    assert result.failure is not None and result.failure.task_id == "frames"
    assert re.search(
        r"message recorded to log 'frames': value at value\['energy'\]\[1\] is nan",
        str(result.failure.exception),
    )
    [log] = run.assets("log")
    lines = log.path.read_bytes().splitlines()
    assert [strict_loads(line) for line in lines] == [{"step": 0, "energy": -1.0}]


def test_the_final_encode_is_a_second_guard(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the value check to miss a NaN, ``allow_nan=False`` still refuses to write it."""
    run = ws.project("p").experiment("e").add_run()
    with run.start() as rc:
        monkeypatch.setattr(encoding_module, "_check_json", lambda value, *_: value)
        before = _files(ws.root)
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            rc.artifact.save("x.json", [1.0, NAN])
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            rc.checkpoint("c", data={"e": INF})
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            rc.set_result("k", [NAN])
        assert _files(ws.root) == before
        monkeypatch.undo()
        rc.set_result("k", [1.0])
    lines = (run.path / "results.jsonl").read_bytes().splitlines()
    assert [strict_loads(line) for line in lines] == [{"key": "k", "value": [1.0]}]
    assert assert_strict_json_tree(ws.root) > 0


def test_the_strict_parser_used_here_rejects_what_json_loads_accepts(tmp_path: Path) -> None:
    """The check above can fail: a NaN token on disk is caught, where json.loads is not."""
    (tmp_path / "run.json").write_text('{"e": [1.0, NaN]}')
    with pytest.raises(ValueError, match="NaN"):
        assert_strict_json_tree(tmp_path)
    (tmp_path / "run.json").write_text('{"e": 1.0}')
    (tmp_path / "manifest.jsonl").write_text('{"a": 1}\n{"b": -Infinity}\n')
    with pytest.raises(ValueError, match="-Infinity"):
        assert_strict_json_tree(tmp_path)
    assert math.isnan(__import__("json").loads("NaN"))
