"""SIGKILL a run at random moments: JSON stays valid, the catalog equals the manifests, the
run reads as interrupted and every result set before the kill is there."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from molexp.workspace import RunStatus, Workspace

from .conftest import (
    assert_strict_json_tree,
    catalog_view,
    manifest_records,
    manifest_view,
    python_env,
)

WORKER = str(Path(__file__).with_name("_crash_worker.py"))
FORKED_KILLS = 24
SPAWNED_KILLS = 3


class Outcome:
    def __init__(self) -> None:
        self.started = False
        self.results: dict[str, int] = {}
        self.artifacts: set[str] = set()

    def feed(self, line: str) -> None:
        if line == "started":
            self.started = True
        elif line.startswith("result "):
            _, key, value = line.split()
            self.results[key] = int(value)
        elif line.startswith("artifact "):
            self.artifacts.add(line.split()[1])


def _verify(
    root: Path, outcome: Outcome, expected: dict[str, int], saved: set[str] | None = None
) -> None:
    assert_strict_json_tree(root, lines=False)  # every JSON file parses strictly (not *.tmp)
    ws = Workspace(root)
    try:
        assert catalog_view(ws) == manifest_view(root)  # reconciled on open
        run = ws.run("crashme")
        status = run.status
        assert status in (RunStatus.PENDING, RunStatus.INTERRUPTED), status
        if outcome.started:
            assert status is RunStatus.INTERRUPTED
        expected.update(outcome.results)
        results = run.results
        missing = {k: v for k, v in expected.items() if results.get(k) != v}
        assert not missing, f"results set before the kill were lost: {missing}"
        records = manifest_records(run.path)
        chains: dict[str, list[dict[str, object]]] = {}
        for record in records:
            if record["kind"] == "checkpoint":
                chains.setdefault(str(record["name"]), []).append(record)
            if record["kind"] == "artifact":
                assert (run.path / str(record["path"])).is_file(), record
        if saved is not None:
            saved.update(outcome.artifacts)
            on_record = {str(r["name"]) for r in records if r["kind"] == "artifact"}
            lost = saved - on_record
            assert not lost, f"artifacts saved before the kill were lost: {sorted(lost)[:5]}"
        for chain in chains.values():
            previous = None
            for record in chain:
                assert record["previous"] == previous
                previous = record["id"]
    finally:
        ws.close()


def _readline(stream: IO[str]) -> str:
    line = stream.readline()
    assert line, "the worker process ended unexpectedly"
    return line.strip()


@pytest.fixture
def crash_ws(tmp_path: Path) -> Path:
    ws = Workspace(tmp_path / "ws")
    ws.project("p").experiment("e").add_run(run_id="crashme")
    ws.close()
    return ws.root


def test_sigkill_at_random_moments(crash_ws: Path) -> None:
    rng = random.Random(int(os.environ.get("MOLEXP_CRASH_SEED", "20240611")))
    expected: dict[str, int] = {}
    saved: set[str] = set()
    kills = 0
    zygote = subprocess.Popen(
        [sys.executable, WORKER, str(crash_ws), "zygote"],
        env=python_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    try:
        for round_no in range(FORKED_KILLS):
            zygote.stdin.write(f"go {round_no}\n")
            zygote.stdin.flush()
            outcome = Outcome()
            while not (line := _readline(zygote.stdout)).startswith("pid "):
                outcome.feed(line)  # the child may speak before its parent reports it
            pid = int(line.split()[1])
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(pid, signal.SIGKILL)
            kills += 1
            while (line := _readline(zygote.stdout)) != f"exit {pid}":
                outcome.feed(line)
            _verify(crash_ws, outcome, expected, saved)
    except BaseException:
        zygote.kill()
        raise
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)

    for round_no in range(FORKED_KILLS, FORKED_KILLS + SPAWNED_KILLS):
        proc = subprocess.Popen(
            [sys.executable, WORKER, str(crash_ws), "once", str(round_no)],
            env=python_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        outcome = Outcome()
        if round_no % 3 == 0:
            time.sleep(rng.uniform(0.0, 0.3))  # maybe still importing, maybe starting the run
        else:
            while not outcome.started:
                outcome.feed(_readline(proc.stdout))
            time.sleep(rng.uniform(0.0, 0.1))
        proc.send_signal(signal.SIGKILL)
        kills += 1
        rest, _ = proc.communicate(timeout=60)
        for line in rest.splitlines():
            outcome.feed(line.strip())
        _verify(crash_ws, outcome, expected, saved)

    assert kills >= 20
    assert expected, "no worker got as far as recording a result"
    assert any(name.startswith("gamma/") for name in saved), "no asave returned before a kill"
    ws = Workspace(crash_ws)
    run = ws.run("crashme")
    attempts = run.info()["attempts"]
    assert attempts and all(a["status"] == "interrupted" for a in attempts)
    assert len({c.id for c in ws.catalog.query_assets(kind="checkpoint")}) > 1
    ws.close()
