"""Benchmark of the workspace layer: durable saves, log appends, catalog queries, tracked runs.

Run from the repository root: ``python benchmarks/workspace.py [--quick] [--dir PATH]``.
It prints each figure next to its target and next to a baseline measured in the same run
on the same filesystem (raw ``os`` calls doing the minimum the guarantee needs), because
absolute figures depend on the disk: the ratio says what molexp itself costs.

Targets (issue 4): >= 1,000 durable small-JSON saves/s, >= 200,000 log lines/s,
``query_assets(producer_task=...)`` <= 5 ms at 100,000 assets (also for 500 rows, issue 15),
tracked run of 1,000 no-op tasks <= 250 us/task more than the same run in memory;
(issue 16) a 1,000-task tracked fan-out saving one small JSON artifact (``asave``) and one
log line per task <= 150 us/task, next to the raw floor of the same files and records with
one fdatasync per 32 saves.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.workspace import Workspace


def _report(label: str, value: float, unit: str, target: str, ok: bool, extra: str = "") -> None:
    mark = "ok  " if ok else "MISS"
    print(f"  [{mark}] {label:<46} {value:>12,.1f} {unit:<8} target {target:<12} {extra}")


# -- durable small-JSON saves --------------------------------------------------------------


def raw_durable_saves(folder: Path, n: int, offset: int) -> float:
    """The floor: write+fdatasync a new file, rename it into place, append+fdatasync a line."""
    versions = folder / "raw"
    versions.mkdir(exist_ok=True)
    manifest = os.open(folder / "raw.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.perf_counter()
    for i in range(offset, offset + n):
        data = json.dumps({"step": i, "energy": -1.5}).encode()
        partial = f"{versions}/.{i}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.fdatasync(fd)
        os.close(fd)
        os.replace(partial, f"{versions}/{i}.json")
        os.write(manifest, json.dumps({"i": i, "path": f"raw/{i}.json"}).encode() + b"\n")
        os.fdatasync(manifest)
    elapsed = time.perf_counter() - start
    os.close(manifest)
    return n / elapsed


def durable_saves(folder: Path, n: int, rounds: int = 5) -> tuple[float, float]:
    """saves/s of molexp (including the final flush of the files at run end) and of the
    raw floor, measured in alternating rounds so that both see the same disk weather."""
    ws = Workspace(folder / "ws")
    run = ws.project("bench").experiment("saves").add_run()
    ours = 0.0
    raw: list[float] = []
    per_round = max(1, n // rounds)
    with run.start() as rc:
        store = rc.bind_task("writer").artifact
        store.save("warmup.json", {"step": -1})
        for r in range(rounds):
            raw.append(raw_durable_saves(folder, per_round, r * per_round))
            start = time.perf_counter()
            for i in range(r * per_round, (r + 1) * per_round):
                store.save(f"step/{i}.json", {"step": i, "energy": -1.5})
            ours += time.perf_counter() - start
        start = time.perf_counter()
        ws.store.syncer.drain()  # what closing the run costs for these files
        ours += time.perf_counter() - start
    assert ws.catalog.count_assets(run=run.id) == rounds * per_round + 1
    ws.close()
    return rounds * per_round / ours, statistics.median(raw)


def scratch_saves(ws: Workspace, n: int) -> float:
    run = ws.project("bench").experiment("saves").add_run()
    with run.start() as rc:
        store = rc.bind_task("writer").artifact
        store.save("warmup.json", {"step": -1})
        start = time.perf_counter()
        for i in range(n):
            store.save(f"step/{i}.json", {"step": i, "energy": -1.5})
        ws.store.syncer.drain()
        elapsed = time.perf_counter() - start
    ws.close()
    return n / elapsed


# -- log lines ------------------------------------------------------------------------------


def raw_log_lines(folder: Path, n: int) -> float:
    fd = os.open(folder / "raw.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.perf_counter()
    for i in range(n):
        os.write(fd, f"step {i} E=-1.5\n".encode())
    elapsed = time.perf_counter() - start
    os.close(fd)
    return n / elapsed


def molexp_log_lines(folder: Path, n: int) -> float:
    ws = Workspace(folder / "ws-log")
    run = ws.project("bench").experiment("logs").add_run()
    with run.start() as rc:
        log = rc.bind_task("md").log("thermo")
        start = time.perf_counter()
        for i in range(n):
            log.append(f"step {i} E=-1.5")
        elapsed = time.perf_counter() - start
    [asset] = ws.catalog.query_assets(kind="log")
    assert asset.line_count == n
    ws.close()
    return n / elapsed


# -- catalog query at 100,000 assets ---------------------------------------------------------


def build_catalog(folder: Path, assets: int, runs: int, tasks: int) -> Workspace:
    """Write ``runs`` run folders whose manifests hold ``assets`` records, then index them."""
    ws = Workspace(folder / "ws-query", fsync=False)
    exp = ws.project("bench").experiment("query")
    per_run = assets // runs
    now = _dt.datetime.now(_dt.UTC)
    for r in range(runs):
        run = exp.add_run(params={"r": r}, run_id=f"run-{r:04d}")
        lines = []
        for i in range(per_run):
            task = f"task-{(r * per_run + i) % tasks:04d}"
            lines.append(
                json.dumps(
                    {
                        "id": os.urandom(16).hex(),
                        "kind": "artifact",
                        "name": f"{task}/out-{i}.json",
                        "version": 1,
                        "path": f"artifacts/.versions/{i:06d}-out-{i}.json",
                        "size": 32,
                        "sha256": "0" * 64,
                        "media_type": "application/json",
                        "encoding": "json",
                        "created_at": (
                            now + _dt.timedelta(microseconds=r * per_run + i)
                        ).isoformat(),
                        "producer": {
                            "run_id": run.id,
                            "project": "bench",
                            "experiment": "query",
                            "task_id": task,
                            "workflow": "bench",
                            "attempt": 1,
                        },
                    }
                )
            )
        (run.path / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return ws


def query_latency(ws: Workspace, tasks: int, limit: int | None, repeats: int) -> float:
    rng = random.Random(1)
    ws.catalog.query_assets(producer_task="task-0000", limit=limit)  # warm
    samples = []
    for _ in range(repeats):
        task = f"task-{rng.randrange(tasks):04d}"
        start = time.perf_counter()
        found = ws.catalog.query_assets(producer_task=task, limit=limit)
        samples.append(time.perf_counter() - start)
        assert found and all(a.producer and a.producer.task_id == task for a in found)
    return statistics.median(samples) * 1e3


def wide_query_latency(ws: Workspace, rows: int, repeats: int) -> float:
    """Median ms of a query returning ``rows`` assets: mostly building the Asset objects."""
    ws.catalog.query_assets(kind="artifact", limit=rows)  # warm
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        found = ws.catalog.query_assets(kind="artifact", limit=rows)
        samples.append(time.perf_counter() - start)
        assert len(found) == rows
    return statistics.median(samples) * 1e3


# -- tracked vs in-memory run of no-op tasks ------------------------------------------------


class Noop(Task):
    async def execute(self, ctx: TaskContext) -> None:
        return None


def noop_workflow(n: int) -> Workflow[Any, Any, Any]:
    wf = Workflow("noops")
    root = wf.add(Noop(), name="root")
    for i in range(n - 1):
        wf.add(Noop(), after=root, name=f"t{i}")
    return wf


def per_task_seconds(folder: Path, n: int, repeats: int) -> tuple[float, float]:
    wf = noop_workflow(n)
    runtime = WorkflowRuntime()
    ws = Workspace(folder / "ws-runs")
    exp = ws.project("bench").experiment("runs")

    async def in_memory() -> float:
        start = time.perf_counter()
        (await runtime.execute(wf)).raise_for_status()
        return time.perf_counter() - start

    async def tracked() -> float:
        run = exp.add_run()  # creating the run is not part of executing it
        start = time.perf_counter()
        async with run.start() as rc:
            (await runtime.execute(wf, config=rc.config, run_context=rc)).raise_for_status()
        return time.perf_counter() - start

    asyncio.run(in_memory())
    asyncio.run(tracked())
    memory = min(asyncio.run(in_memory()) for _ in range(repeats))
    track = min(asyncio.run(tracked()) for _ in range(repeats))
    ws.close()
    return memory / n, track / n


# -- tracked fan-out: one small artifact + one log line per task (issue 16) ------------------


class SaveAndLog(Task):
    """What a short tracked task records: one small JSON artifact and one log line."""

    def __init__(self, i: int, *, awaited: bool) -> None:
        self.i = i
        self.awaited = awaited

    async def execute(self, ctx: TaskContext) -> int:
        assert ctx.artifact is not None
        name, data = f"results/{self.i}.json", {"i": self.i, "energy": -1.5}
        if self.awaited:
            await ctx.artifact.asave(name, data)
        else:
            ctx.artifact.save(name, data)
        log = ctx.log("thermo")
        assert log is not None
        log.append(f"task {self.i} done")
        return self.i


def fanout_workflow(n: int, *, awaited: bool) -> Workflow[Any, Any, Any]:
    wf = Workflow("fanout")
    root = wf.add(Noop(), name="root")
    for i in range(n):
        wf.add(SaveAndLog(i, awaited=awaited), after=root, name=f"t{i}")
    return wf


def raw_fanout(folder: Path, n: int, *, batch: int) -> float:
    """The floor of n durable small saves + log lines in one process, in seconds: per save a
    new file (written, renamed into place, hard-linked as the latest view) and a manifest
    line; one fdatasync of the manifest per ``batch`` saves (1: a sync per save), the files
    flushed once at the end (``syncfs``), as molexp does for small payloads."""
    area = folder / f"raw-{time.perf_counter_ns()}"
    versions = area / "versions"
    versions.mkdir(parents=True)
    (area / "latest").mkdir()
    manifest = os.open(area / "manifest.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    log = os.open(area / "thermo.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    start = time.perf_counter()
    for i in range(n):
        data = json.dumps({"i": i, "energy": -1.5}).encode()
        partial = f"{versions}/.{i}.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
        os.write(fd, data)
        os.close(fd)
        os.replace(partial, f"{versions}/{i}.json")
        os.link(f"{versions}/{i}.json", f"{area}/latest/{i}.json")
        record = {"i": i, "path": f"versions/{i}.json", "inline": data.decode()}
        os.write(manifest, json.dumps(record).encode() + b"\n")
        if (i + 1) % batch == 0 or i == n - 1:
            os.fdatasync(manifest)
        os.write(log, f"task {i} done\n".encode())
    os.sync()  # stands for the one syncfs molexp does at the end
    elapsed = time.perf_counter() - start
    os.close(manifest)
    os.close(log)
    return elapsed


def fanout_per_task(folder: Path, n: int, rounds: int) -> dict[str, float]:
    """Median per-task seconds of each variant, measured in interleaved rounds."""
    ws = Workspace(folder / "ws-fanout")
    exp = ws.project("bench").experiment("fanout")
    runtime = WorkflowRuntime()
    flows = {True: fanout_workflow(n, awaited=True), False: fanout_workflow(n, awaited=False)}

    async def tracked(awaited: bool) -> float:
        run = exp.add_run()
        start = time.perf_counter()
        async with run.start() as rc:
            result = await runtime.execute(flows[awaited], config=rc.config, run_context=rc)
            result.raise_for_status()
        return time.perf_counter() - start

    samples: dict[str, list[float]] = {k: [] for k in ("asave", "save", "grouped", "per-save")}
    asyncio.run(tracked(True))  # warm: imports, code digests
    for _ in range(rounds):
        samples["asave"].append(asyncio.run(tracked(True)) / n)
        samples["grouped"].append(raw_fanout(folder, n, batch=32) / n)
        samples["save"].append(asyncio.run(tracked(False)) / n)
        samples["per-save"].append(raw_fanout(folder, n, batch=1) / n)
    ws.close()
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    args = parser.parse_args()
    saves = 300 if args.quick else 1000
    lines = 50_000 if args.quick else 300_000
    assets = 10_000 if args.quick else 100_000
    folder = Path(tempfile.mkdtemp(prefix="molexp-bench-", dir=args.dir))
    print(f"molexp workspace benchmark in {folder} (python {sys.version.split()[0]})")
    try:
        print("durable small-JSON artifact saves (durable on return, files flushed by run end)")
        ours, raw = durable_saves(folder, saves)
        _report(
            "ctx.artifact.save (saves/s)",
            ours,
            "/s",
            ">= 1,000",
            ours >= 1000,
            f"naive floor {raw:,.0f}/s (fsync file, rename, fsync manifest): x{ours / raw:.2f}",
        )

        fast = Workspace(folder / "ws-nofsync", fsync=False)
        rate = scratch_saves(fast, saves)
        _report(
            "  same, Workspace(fsync=False)",
            rate,
            "/s",
            "-",
            True,
            "process-crash safe, not power-loss safe",
        )
        shm = Path("/dev/shm")
        if shm.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix="molexp-bench-", dir=shm))
            try:
                rate = scratch_saves(Workspace(tmp / "ws"), saves)
                _report(
                    "  same, on tmpfs (molexp CPU cost only)",
                    rate,
                    "/s",
                    "-",
                    True,
                    f"{1e6 / rate:.0f} us per save",
                )
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        print("log lines (unbuffered O(1) appends, asset kept current)")
        raw = raw_log_lines(folder, lines)
        ours = molexp_log_lines(folder, lines)
        _report(
            "ctx.log(name).append (lines/s)",
            ours,
            "/s",
            ">= 200,000",
            ours >= 200_000,
            f"raw os.write {raw:,.0f}/s -> {ours / raw:.0%} of raw",
        )

        print(f"catalog query at {assets:,} assets (1,000 runs, 1,000 producer tasks)")
        start = time.perf_counter()
        tasks = 1000
        ws = build_catalog(folder, assets, runs=100 if args.quick else 1000, tasks=tasks)
        report = ws.catalog.rebuild()
        built = time.perf_counter() - start
        assert report.records_indexed == assets, report
        print(
            f"  (wrote and indexed {assets:,} records in {built:.1f} s: "
            f"{assets / built:,.0f} records/s)"
        )
        per_task = assets // tasks
        ms = query_latency(ws, tasks, limit=None, repeats=200)
        _report(f"query_assets(producer_task=) ({per_task} rows)", ms, "ms", "<= 5 ms", ms <= 5)
        ms = query_latency(ws, tasks, limit=20, repeats=200)
        _report("query_assets(producer_task=, limit=20)", ms, "ms", "<= 5 ms", ms <= 5)
        ms = wide_query_latency(ws, 500, repeats=50)
        _report("query_assets(kind=, limit=500) (500 rows)", ms, "ms", "<= 5 ms", ms <= 5)
        start = time.perf_counter()
        fresh = Workspace(ws.root)
        fresh.catalog.query_assets(limit=1)
        _report(
            "open + reconcile (nothing changed)",
            (time.perf_counter() - start) * 1e3,
            "ms",
            "-",
            True,
        )
        ws.close()
        fresh.close()

        print("1,000 no-op tasks: tracked run vs the same run in memory")
        memory, tracked = per_task_seconds(folder, 1000, repeats=3 if args.quick else 5)
        overhead = (tracked - memory) * 1e6
        _report("in-memory per task", memory * 1e6, "us", "-", True)
        _report("tracked per task", tracked * 1e6, "us", "-", True)
        _report(
            "tracking overhead per task",
            overhead,
            "us",
            "<= 250 us",
            overhead <= 250,
            f"ratio tracked/in-memory {tracked / memory:.2f}",
        )

        print("1,000-task tracked fan-out, one small JSON artifact + one log line per task")
        fan = fanout_per_task(folder, 300 if args.quick else 1000, rounds=3 if args.quick else 5)
        _report(
            "await ctx.artifact.asave, per task",
            fan["asave"] * 1e6,
            "us",
            "<= 150 us",
            fan["asave"] <= 150e-6,
            f"raw floor, fsync per 32 saves {fan['grouped'] * 1e6:.0f} us: "
            f"x{fan['asave'] / fan['grouped']:.2f}",
        )
        _report(
            "ctx.artifact.save, per task",
            fan["save"] * 1e6,
            "us",
            "-",
            True,
            f"raw floor, fsync per save {fan['per-save'] * 1e6:.0f} us: "
            f"x{fan['save'] / fan['per-save']:.2f}",
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
