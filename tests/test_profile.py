"""ProfileConfig: an immutable named mapping with a stable content hash."""

from __future__ import annotations

import datetime as dt

import pytest

from molexp import ProfileConfig


def test_mapping_behaviour_and_name() -> None:
    cfg = ProfileConfig({"lr": 0.1, "md": {"steps": 10}}, name="quick")
    assert cfg["lr"] == 0.1 and cfg.get("missing", 3) == 3 and len(cfg) == 2
    assert list(cfg) == ["lr", "md"] and cfg["md"]["steps"] == 10
    assert cfg.name == "quick" and ProfileConfig().name is None and len(ProfileConfig()) == 0


def test_is_deeply_immutable_and_detached_from_the_source() -> None:
    source = {"md": {"steps": 10}, "temps": [300, 310]}
    cfg = ProfileConfig(source)
    source["md"]["steps"] = 99
    assert cfg["md"]["steps"] == 10
    with pytest.raises(TypeError):
        cfg["md"]["steps"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg["x"] = 1  # type: ignore[index]
    assert cfg["temps"] == (300, 310)
    assert cfg.to_dict() == {"md": {"steps": 10}, "temps": [300, 310]}


def test_equality() -> None:
    assert ProfileConfig({"a": 1}, name="p") == ProfileConfig({"a": 1}, name="p")
    assert ProfileConfig({"a": 1}, name="p") != ProfileConfig({"a": 1}, name="q")
    assert ProfileConfig({"a": [1]}) == {"a": [1]}
    assert ProfileConfig({"a": 1}) != {"a": 2}
    assert len({ProfileConfig({"a": 1}), ProfileConfig({"a": 1})}) == 1


def test_content_hash_is_stable_order_independent_and_ignores_name() -> None:
    a = ProfileConfig({"x": 1, "y": {"b": 2, "a": [1, 2]}}, name="one")
    b = ProfileConfig({"y": {"a": [1, 2], "b": 2}, "x": 1}, name="two")
    assert a.content_hash == b.content_hash
    assert a.content_hash != ProfileConfig({"x": 2}).content_hash
    # Pinned: the hash is part of what runs record, so it must not drift between versions.
    assert ProfileConfig({"x": 1}).content_hash == (
        "5041bf1f713df204784353e82f6a4a535931cb64f1f4b4a5aeaffcb720918b22"
    )
    assert ProfileConfig({"when": dt.date(2026, 1, 1)}).content_hash


def test_values_that_cannot_be_recorded_are_rejected_naming_the_key() -> None:
    from pathlib import Path

    with pytest.raises(
        TypeError, match=r"profile 'quick': config value at md.structure is a PosixPath"
    ):
        ProfileConfig({"md": {"structure": Path("argon.xyz")}}, name="quick")
    with pytest.raises(TypeError, match=r"config value at temps\[1\] is a set"):
        ProfileConfig({"temps": [1, {2}]})
    with pytest.raises(TypeError, match=r"config value at md.dt is nan; JSON has no NaN"):
        ProfileConfig({"md": {"dt": float("nan")}})


def test_to_json_is_what_runs_record() -> None:
    cfg = ProfileConfig({"when": dt.date(2026, 1, 1), "temps": [300, 310]})
    assert cfg.to_json() == {"when": "2026-01-01", "temps": [300, 310]}


def test_coerce() -> None:
    cfg = ProfileConfig({"a": 1})
    assert ProfileConfig.coerce(cfg) is cfg
    assert ProfileConfig.coerce({"a": 1}) == cfg
    assert ProfileConfig.coerce(None) == {}
    with pytest.raises(TypeError, match="config must be a ProfileConfig or a mapping, not list"):
        ProfileConfig.coerce([1])  # type: ignore[arg-type]
