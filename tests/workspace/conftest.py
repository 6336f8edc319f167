"""Shared fixtures and checks for the workspace tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from molexp.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


def python_env() -> dict[str, str]:
    """Environment for subprocesses that import molexp from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name} (NaN/Infinity) in what molexp wrote")


def strict_loads(data: str | bytes) -> Any:
    """``json.loads`` that rejects NaN/Infinity (which plain json.loads accepts)."""
    return json.loads(data, parse_constant=_no_constant)


def assert_strict_json_tree(root: Path, *, lines: bool = True) -> int:
    """Every ``*.json`` file and (``lines``) every complete ``*.jsonl`` line under ``root``
    is strict JSON; returns how many documents were checked. A crash may leave a torn line
    in a manifest (skipped by readers): pass ``lines=False`` there."""
    checked = 0
    for path in sorted(root.rglob("*.json")):
        strict_loads(path.read_bytes())
        checked += 1
    for path in sorted(root.rglob("*.jsonl")) if lines else ():
        data = path.read_bytes()
        for line in data[: data.rfind(b"\n") + 1].split(b"\n"):
            if line.strip():
                strict_loads(line)
                checked += 1
    return checked


def manifest_records(root: Path) -> list[dict[str, Any]]:
    """Every complete, parseable record of every manifest under ``root``."""
    records = []
    for manifest in sorted(root.rglob("manifest.jsonl")):
        data = manifest.read_bytes()
        for line in data[: data.rfind(b"\n") + 1].split(b"\n"):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a terminated torn line
                strict_loads(line)  # a whole line that parses is strict JSON
                records.append(record)
    return records


def catalog_view(ws: Workspace) -> set[tuple[Any, ...]]:
    return {
        (a.id, a.kind, a.name, a.version, a.run_id, a.producer.task_id if a.producer else None)
        for a in ws.catalog.query_assets()
    }


def manifest_view(root: Path) -> set[tuple[Any, ...]]:
    out = set()
    for r in manifest_records(root):
        producer = r.get("producer") or {}
        run_id = producer.get("run_id") if producer else None
        out.add((r["id"], r["kind"], r["name"], r["version"], run_id, producer.get("task_id")))
    return out
