"""Benchmark of sweeps (issue 14): 500 cells of a no-op workflow, created, run, re-run, compared.

Run from the repository root: ``python benchmarks/sweeps.py [--quick] [--cells N] [--dir PATH]``.

Targets: creating the 500 runs <= 5 s; repeating the sweep (nothing to add, nothing to run)
<= 2 s; ``molexp runs compare --experiment`` over the 500 runs <= 1 s. Baselines measured in
the same run on the same filesystem: the floor of creating N run folders by hand (mkdir and a
durable JSON write each), and the start-up of ``molexp --version`` (a CLI floor).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from molexp import Task, TaskContext, Workflow
from molexp.workspace import Workspace


class Noop(Task[TaskContext[None, None, None], None]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> None:
        ctx.set_result("energy", -4.0 + 0.01 * float(ctx.config["a"]) + int(ctx.config["b"]))


wf = Workflow("noop")
wf.add(Noop())


def _report(label: str, value: float, unit: str, target: str, ok: bool, extra: str = "") -> None:
    mark = "ok  " if ok else "MISS"
    print(f"  [{mark}] {label:<44} {value:>9.3f} {unit:<3} target {target:<8} {extra}")


def raw_create(folder: Path, n: int) -> float:
    """The floor: mkdir a run folder and write its JSON durably (temp, fsync, rename)."""
    folder.mkdir()
    start = time.perf_counter()
    for i in range(n):
        run = folder / f"run-{i}"
        run.mkdir()
        data = json.dumps({"id": i, "params": {"a": i}, "status": "pending"}).encode()
        partial = run / ".run.json.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.replace(partial, run / "run.json")
    return time.perf_counter() - start


def _cli(*args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "molexp", *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"molexp {' '.join(args)} failed: {proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="40 cells (a smoke run)")
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--dir", type=Path, help="where to create the workspace (default: tmp)")
    args = parser.parse_args()
    n = 40 if args.quick else args.cells
    b_values = list(range(20 if n % 20 == 0 else 1))
    a_values = list(range(n // len(b_values)))
    n = len(a_values) * len(b_values)
    base = Path(tempfile.mkdtemp(prefix="molexp-bench-sweeps-", dir=args.dir))
    try:
        root = base / "ws"
        config = {"a": 0, "b": 0}
        print(f"sweep of {n} cells x no-op workflow, workspace {root}")
        raw = raw_create(base / "raw", n)
        experiment = Workspace(root).project("bench").experiment("sweep")
        start = time.perf_counter()
        runs = experiment.sweep(wf, grid={"a": a_values, "b": b_values}, config=config)
        create = time.perf_counter() - start
        assert runs.added == n
        scaled = 5.0 * n / 500
        _report(
            f"create {n} runs",
            create,
            "s",
            f"<= {scaled:g} s",
            create <= scaled,
            f"raw floor {raw:.3f} s (ratio {create / raw:.1f}x)",
        )
        scratch = Workspace(base / "scratch", fsync=False).project("bench").experiment("sweep")
        start = time.perf_counter()
        scratch.sweep(wf, grid={"a": a_values, "b": b_values}, config=config)
        no_fsync = time.perf_counter() - start
        _report(
            f"create {n} runs, fsync=False workspace",
            no_fsync,
            "s",
            "-",
            True,
            "what is not waiting on the disk",
        )
        start = time.perf_counter()
        report = runs.execute(parallel=4)
        execute = time.perf_counter() - start
        assert report.ok and len(report.succeeded) == n
        _report(
            f"execute {n} runs (parallel=4)",
            execute,
            "s",
            "-",
            True,
            f"{execute / n * 1e3:.1f} ms/run",
        )
        start = time.perf_counter()
        again = Workspace(root).project("bench").experiment("sweep")
        repeat = again.sweep(wf, grid={"a": a_values, "b": b_values}, config=config)
        second = repeat.execute(parallel=4)
        rerun = time.perf_counter() - start
        assert repeat.added == 0 and len(second.skipped) == n and not second.succeeded
        scaled = 2.0 * n / 500
        _report(
            "repeat the sweep (adds/runs nothing)", rerun, "s", f"<= {scaled:g} s", rerun <= scaled
        )
        floor = _cli("--version")
        compare = _cli("runs", "compare", "--experiment", "sweep", "--workspace", str(root))
        _report(
            f"molexp runs compare over {n} runs",
            compare,
            "s",
            "<= 1 s",
            compare <= 1.0,
            f"CLI start-up floor {floor:.3f} s",
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
