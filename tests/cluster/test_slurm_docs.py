"""The Slurm setup in docs/distributed.md generates the job script it shows (no Slurm needed).

test_slurm.py runs the same recipe on a real Slurm.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "distributed.md"
DOCUMENTED_ADDRESS = "tcp://10.10.0.1:39071"


def block_after(marker: str, fence: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- {marker} -->\n```{fence}\n(.*?)^```", text, re.S | re.M)
    assert match, f"docs/distributed.md has no ```{fence} block after <!-- {marker} -->"
    return match.group(1)


def test_the_documented_slurm_cluster_generates_the_documented_job_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import dask_jobqueue  # a dev dependency: fail, never skip, when it is missing

    monkeypatch.chdir(tmp_path)  # the recipe creates its log_directory (logs/dask) here

    real = dask_jobqueue.SLURMCluster
    made: list[Any] = []
    documented_options: list[dict[str, Any]] = []

    def local_scheduler(**kwargs: Any) -> Any:
        # The documented scheduler listens on the cluster network (ib0); here it listens
        # on the loopback (also at a free port), and nothing is ever submitted.
        documented_options.append(kwargs.get("scheduler_options", {}))
        kwargs["scheduler_options"] = {"host": "127.0.0.1", "port": 0, "dashboard_address": ":0"}
        cluster = real(**kwargs)
        made.append(cluster)
        return cluster

    monkeypatch.setattr(dask_jobqueue, "SLURMCluster", local_scheduler)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(block_after("slurm-cluster", "py"), "distributed.md", "exec"), {})
        [cluster] = made
        assert documented_options == [{"interface": "ib0", "port": 0}]
        assert (tmp_path / "logs" / "dask").is_dir()
        script = cluster.job_script().replace(cluster.scheduler_address, DOCUMENTED_ADDRESS)
        assert script.strip() == block_after("slurm-job-script", "text").strip()
        assert printed.getvalue().strip() == cluster.job_script().strip()
    finally:
        for cluster in made:
            cluster.close()
