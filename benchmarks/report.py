"""Benchmark of ``molexp report`` over an experiment of many runs.

Run from the repository root: ``python benchmarks/report.py [--quick] [--dir PATH]``.
Builds a sweep-shaped experiment: 50 temperatures x 2 pressures x 5 replica seeds = 500 runs
(``--quick``: 40), each with one result, a 100-line numeric log and one artifact, recorded
through the workspace API (``fsync=False``: the set-up is not what is measured). Then:

- ``molexp report --experiment`` as a user runs it (a subprocess: imports included), and
  the size of the file it writes;
- the same in-process, split into gathering the data from the run records and rendering
  (plots drawn by matplotlib, the Jinja template);
- the baseline, measured in the same run: ``molexp runs compare --experiment --json``
  (a subprocess reading the same run records), so the ratio says what the page costs on
  top of reading the runs.

Targets (issue 14): the report for 500 runs <= 5 MB and <= 10 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from molexp.report import collect, render_html
from molexp.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


def build(root: Path, temperatures: int) -> int:
    ws = Workspace(root, fsync=False)
    experiment = ws.project("bench").experiment("scan")
    count = 0
    for t in range(temperatures):
        for pressure in (1, 2):
            for seed in range(5):
                temperature = 250 + 5 * t
                params = {"temperature": temperature, "pressure": pressure, "seed": seed}
                run = experiment.add_run(params, run_id=f"t{temperature}-p{pressure}-s{seed}")
                with run.start() as rc:
                    energy = -4.0 - temperature / 1000 + 0.1 * pressure + 0.003 * seed
                    log = rc.log("md")
                    for step in range(100):
                        log.append(f"step={step} energy={energy - 0.001 * step:.6f}")
                    rc.set_result("energy", energy)
                    rc.artifact.save("summary.json", {"energy": energy})
                count += 1
    ws.close()
    return count


def cli(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"molexp {' '.join(args)} failed:\n{proc.stderr}")
    return elapsed, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 runs (smoke run)")
    parser.add_argument("--dir", type=Path, help="where to build the workspace (a temp folder)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="molexp-bench-report-", dir=args.dir))
    try:
        start = time.perf_counter()
        runs = build(folder / "ws", 4 if args.quick else 50)
        print(f"report benchmark: {runs} runs (built in {time.perf_counter() - start:.1f} s)")
        out = folder / "report.html"
        ws_args = ("--workspace", str(folder / "ws"))
        baseline, _ = cli("runs", "compare", "--experiment", "scan", "--json", *ws_args)
        total, _ = cli("report", "--experiment", "scan", "-o", str(out), *ws_args)
        size_mb = out.stat().st_size / 1e6

        ws = Workspace(folder / "ws")
        start = time.perf_counter()
        runs_ = ws.project("bench").experiment("scan").runs()
        data = collect(runs_, title="scan", report_folder=folder)
        gathered = time.perf_counter() - start
        start = time.perf_counter()
        html = render_html(data)
        rendered = time.perf_counter() - start
        ws.close()

        def mark(ok: bool) -> str:
            return "ok" if ok or args.quick else "MISS"

        print(f"  baseline: runs compare --json (subprocess)   {baseline:6.2f} s")
        print(
            f"  molexp report (subprocess)                 {total:6.2f} s"
            f"  ratio {total / baseline:5.1f}x baseline  (target <= 10 s: {mark(total <= 10)})"
        )
        print(f"    in-process: gather the run records       {gathered:6.2f} s")
        print(
            f"    in-process: render ({len(data.sweeps)} sweep plots, {len(data.logs)} log plots,"
            f" {len(data.rows)} rows)  {rendered:6.2f} s"
        )
        print(
            f"  report size                                {size_mb:6.2f} MB"
            f"  (target <= 5 MB: {mark(size_mb <= 5)}; in-process render {len(html) / 1e6:.2f} MB)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
