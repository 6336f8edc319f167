"""`import molexp` against its floor, `import asyncio` (molexp needs asyncio), in one run.

Run: ``python benchmarks/import_time.py [--quick]``. Each sample is a fresh interpreter that
times one import statement in-process (interpreter start-up is the same for both and left
out). Bytecode is cached first, in a private ``PYTHONPYCACHEPREFIX``, so neither side pays
for compiling and nothing is written into the checkout. Samples are interleaved (asyncio,
molexp, asyncio, ...) so load on a noisy machine hits both alike; medians are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

STATEMENTS = {
    "asyncio (floor)": "import asyncio",
    "import molexp": "import molexp",
    "in-memory names": "from molexp import Task, TaskContext, Workflow, WorkflowRuntime",
    "+ the workspace": "from molexp import Workspace",
}
PROBE = "import time\nt = time.perf_counter()\n{statement}\nprint((time.perf_counter() - t) * 1000)"


def sample(statement: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return float(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 samples each instead of 41")
    rounds = 5 if parser.parse_args().quick else 41
    with tempfile.TemporaryDirectory(prefix="molexp-pyc-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for statement in STATEMENTS.values():  # compile and cache everything once
            sample(statement, env)
        times: dict[str, list[float]] = {label: [] for label in STATEMENTS}
        for _ in range(rounds):
            for label, statement in STATEMENTS.items():
                times[label].append(sample(statement, env))
    floor = statistics.median(times["asyncio (floor)"])
    print(f"import time, median of {rounds} fresh interpreters (bytecode cached)")
    for label, values in times.items():
        median = statistics.median(values)
        print(f"  {label:<18} {median:7.1f} ms   ratio to asyncio {median / floor:5.2f}")


if __name__ == "__main__":
    main()
