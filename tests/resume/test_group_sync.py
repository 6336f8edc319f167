"""Task records are fsync'd in groups (issue 16) and closing always flushes and returns."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from molexp.caching import outputs
from molexp.caching.outputs import GROUP_SYNC_DELAY, TaskRecords, read_records


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counted(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(outputs.os, "fsync", counted)
    return calls


def test_a_burst_of_records_costs_a_few_fsyncs_and_close_flushes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_fsyncs(monkeypatch)
    records = TaskRecords(tmp_path, attempt=1)
    for i in range(50):
        records.append({"event": "output", "task": f"t{i}", "inline": i})
    records.close()
    assert 1 <= len(calls) <= 3, len(calls)  # one group (and close's), not 50
    assert [r["task"] for r in read_records(tmp_path / "tasks.jsonl")] == [
        f"t{i}" for i in range(50)
    ]
    assert not [t for t in threading.enumerate() if t.name == "molexp-records-sync"]


def test_close_returns_when_it_lands_in_the_helpers_sleep(tmp_path: Path) -> None:
    # close() used to clear its own wake-up when it came while the helper slept: a hang.
    for i in range(10):
        records = TaskRecords(tmp_path / str(i), attempt=1)
        (tmp_path / str(i)).mkdir()
        records.append({"event": "output", "task": "t", "inline": i})
        time.sleep(GROUP_SYNC_DELAY / 2)
        done = threading.Event()
        closer = threading.Thread(
            target=lambda r=records, d=done: (r.close(), d.set()), daemon=True
        )
        closer.start()
        assert done.wait(5), f"close() hung (round {i})"


def test_informational_records_are_not_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_fsyncs(monkeypatch)
    records = TaskRecords(tmp_path, attempt=1)
    records.append({"event": "reused", "task": "t"}, durable=False)
    records.close()
    assert calls == []
