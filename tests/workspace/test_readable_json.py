"""run.json's writer: indented like ``json.dumps(indent=2)`` when small, two levels deep
(values below compact, each encoded once) when large, and always the same JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from molexp.workspace.atomic import readable_json


def test_a_small_document_is_indented_all_the_way() -> None:
    doc = {"b": 1, "a": {"x": [1, 2], "y": {"deep": {"z": 1}}}, "l": [[1, [2]], {}], "e": []}
    assert readable_json(doc) == json.dumps(doc, indent=2, sort_keys=True)


def test_a_large_document_is_indented_two_levels_deep() -> None:
    tasks = {f"t{i}": {"status": "succeeded", "duration": 0.001, "attempt": 1} for i in range(1000)}
    doc: dict[str, Any] = {
        "status": "succeeded",
        "attempts": [{"attempt": 1}, {"attempt": 2}],
        "execution": {"tasks": tasks, "workflow": "scan"},
    }
    text = readable_json(doc)
    assert json.loads(text) == doc
    lines = text.splitlines()
    assert lines[:3] == ["{", '  "attempts": [', '    {"attempt": 1},']
    assert '  "execution": {' in lines and '    "workflow": "scan"' in lines
    assert len(lines) < 20  # a line per top-level and second-level entry, not per task


def test_a_large_document_refuses_nan_like_the_small_one() -> None:
    doc = {"big": "x" * 20_000, "bad": {"value": float("nan")}}
    with pytest.raises(ValueError):
        readable_json(doc)
