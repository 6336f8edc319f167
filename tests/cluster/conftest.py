"""One real Dask cluster for the tests of this folder: loopback, 2 worker processes.

The task classes live in ``cluster.tasks``: the worker processes import them by name (they
start with this process's ``sys.path``, where pytest put the ``tests`` folder).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

# Dev dependencies (pip install -e ".[dev]"): a missing install fails, never skips.
import dask
import distributed
import pytest


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
