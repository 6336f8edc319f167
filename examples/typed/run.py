"""Run the typed example: ``python examples/typed/run.py``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: make the ``typed`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from molexp import WorkflowRuntime


async def main() -> None:
    from typed.lj_scan import scan_workflow
    from typed.models import ClusterSpec, Deps
    from typed.workflow import analyze, wf

    result = await WorkflowRuntime().execute(wf, inputs=ClusterSpec(atoms=8), deps=Deps("toy-lj"))
    result.raise_for_status()
    report = result.output(analyze)  # typed: Node[Report] -> Report
    print(
        f"{wf.name}: minimum {report.minimum_energy} epsilon, mean {report.mean_energy} ({report.engine})"
    )

    scan = await WorkflowRuntime().execute(scan_workflow, inputs=(0.95, 1.6))
    scan.raise_for_status()
    print(f"{scan_workflow.name}: minimum at r = {scan.outputs['best']}")

    from typed.stream import check, stream

    streamed = await WorkflowRuntime().execute(stream, inputs=2.0)
    streamed.raise_for_status()
    print(f"{stream.name}: {streamed.sent['sampler']} frames, {streamed.output(check)}")


if __name__ == "__main__":
    asyncio.run(main())
