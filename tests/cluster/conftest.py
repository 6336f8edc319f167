"""One real Dask cluster for the tests of this folder: loopback, 2 worker processes.

The task classes live in ``cluster.tasks``: the worker processes import them by name (they
start with this process's ``sys.path``, where pytest put the ``tests`` folder).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Dev dependencies (pip install -e ".[dev]"): a missing install fails, never skips.
import dask
import distributed
import pytest

ROOT = Path(__file__).resolve().parents[2]
SLURM_SCRIPT = ROOT / "scripts" / "slurm-local.sh"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slurm: needs a Slurm controller (scripts/slurm-local.sh start); runs in CI"
    )


def _controller_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    proc = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return proc.returncode == 0 and any(
        state.startswith(("idle", "mix", "alloc")) for state in proc.stdout.split()
    )


@pytest.fixture(scope="session")
def slurm() -> Iterator[None]:
    """A running single-node Slurm: the one up already, else one started (and stopped) here.

    In CI (``CI=true``) it must be there: started by .ci/run, or here as root (the script
    installs the packages when absent). Elsewhere, without Slurm, the tests are skipped.
    """
    if _controller_up():
        yield
        return
    in_ci = os.environ.get("CI") == "true"
    if os.geteuid() == 0 and (in_ci or shutil.which("slurmctld") is not None):
        proc = subprocess.run(
            [str(SLURM_SCRIPT), "start"], capture_output=True, text=True, timeout=600
        )
        assert proc.returncode == 0, f"{SLURM_SCRIPT} start failed:\n{proc.stderr}"
        try:
            yield
        finally:
            subprocess.run([str(SLURM_SCRIPT), "stop"], capture_output=True, timeout=120)
        return
    reason = (
        "no Slurm controller answers `sinfo`, and starting one needs Slurm installed and root; "
        f"run `sudo {SLURM_SCRIPT.relative_to(ROOT)} start` to run the Slurm tests"
    )
    if in_ci:
        pytest.fail(f"CI=true: the Slurm tests must run, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    # A task that kills its worker fails at once instead of killing 3 more workers first.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",  # its small HTTP server on a free port, not 8787
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.CRITICAL,
        )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def session_client(dask_cluster: Any) -> Iterator[Any]:
    client = distributed.Client(dask_cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def client(session_client: Any) -> Any:
    """A synchronous client (what users hold) on a cluster with both workers up."""
    session_client.wait_for_workers(2, timeout=60)  # a crash test restarts one
    return session_client


def scheduler_keys(client: Any, prefix: str) -> list[str]:
    """Keys the scheduler still tracks that start with ``prefix``."""

    def keys(dask_scheduler: Any) -> list[str]:
        return [str(k) for k in dask_scheduler.tasks]

    return [k for k in client.run_on_scheduler(keys) if k.startswith(prefix)]
