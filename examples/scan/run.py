"""Run the scan in memory, then again on 2 worker processes: the same summary.

python examples/scan/run.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the ``scan`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from molexp import ProfileConfig, WorkflowRuntime
from molexp.executors import ProcessExecutor


async def main() -> None:
    from scan.workflow import summary, wf

    config = ProfileConfig({"count": 4, "relax": {"steps": 30}}, name="quick")
    local = await WorkflowRuntime().execute(wf, config=config)
    local.raise_for_status()
    async with ProcessExecutor(max_workers=2) as pool:
        parallel = await WorkflowRuntime().execute(wf, config=config, executors={"cpu": pool})
    parallel.raise_for_status()
    a, b = local.output(summary), parallel.output(summary)
    for density, energy in zip(a.densities, a.energies, strict=True):
        print(f"density {density:.2f}: E/N = {energy:+.4f} epsilon")
    print(f"lowest at density {a.best_density:.2f}; the same on 2 processes: {a == b}")


if __name__ == "__main__":
    asyncio.run(main())
