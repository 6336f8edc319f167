"""Profile files: defaults, extends chains, overrides, errors naming file and profile."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from molexp import ProfileConfig
from molexp.profile import ConfigError
from molexp.profile_file import (
    ProfileError,
    ProfileFile,
    find_profile_file,
    parse_override,
    resolve_profile,
)

TOML = """
[defaults]
seed = 1
md = { steps = 1000, dt = 0.005, thermostat = "langevin" }
temperatures = [300, 310]

[profiles.quick]
md = { steps = 100 }

[profiles.production]
extends = "quick"
md = { steps = 100000 }
temperatures = [280]

[profiles.gpu]
extends = "production"
engine = "cuda"
"""


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "molexp.toml"
    path.write_text(TOML)
    return path


def test_defaults_only_when_no_profile(profile_file: Path) -> None:
    cfg = resolve_profile(profile_file)
    assert cfg.name is None and cfg["md"]["steps"] == 1000 and cfg["seed"] == 1


def test_extends_chain_deep_merges_in_order(profile_file: Path) -> None:
    cfg = resolve_profile(profile_file, "gpu")
    assert cfg.name == "gpu"
    assert cfg.to_dict() == {
        "seed": 1,
        "md": {"steps": 100000, "dt": 0.005, "thermostat": "langevin"},
        "temperatures": [280],  # lists replace, tables merge
        "engine": "cuda",
    }
    assert "extends" not in cfg
    assert ProfileFile.load(profile_file).chain("gpu") == ["quick", "production", "gpu"]


def test_overrides_are_toml_literals_with_string_fallback(profile_file: Path) -> None:
    cfg = resolve_profile(
        profile_file,
        "quick",
        ["md.steps=5", "md.dt=1e-3", "label=hello world", "flags=[1, 2]", "new.deep.key=true"],
    )
    assert cfg["md"] == {"steps": 5, "dt": 0.001, "thermostat": "langevin"}
    assert cfg["label"] == "hello world" and cfg["flags"] == (1, 2)
    assert cfg["new"]["deep"]["key"] is True
    assert parse_override("x='quoted'") == (["x"], "quoted")


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_malformed_overrides(bad: str) -> None:
    with pytest.raises(ProfileError, match="must look like key.sub=value"):
        parse_override(bad)


def test_override_through_a_non_table(profile_file: Path) -> None:
    with pytest.raises(ProfileError, match="'seed' is a int, not a table"):
        resolve_profile(profile_file, None, ["seed.x=1"])


def test_unknown_profile_names_file_and_known_profiles(profile_file: Path) -> None:
    with pytest.raises(
        ProfileError,
        match=rf"{profile_file}: unknown profile 'fast'; profiles: gpu, production, quick",
    ):
        resolve_profile(profile_file, "fast")


def test_unknown_extends_and_cycles(tmp_path: Path) -> None:
    path = tmp_path / "molexp.toml"
    path.write_text(
        '[profiles.a]\nextends = "b"\n[profiles.b]\nextends = "a"\n[profiles.c]\nextends = "zzz"\n'
    )
    with pytest.raises(ProfileError, match=r"extends cycle a -> b -> a"):
        resolve_profile(path, "a")
    with pytest.raises(ProfileError, match=r"unknown profile 'zzz' \(extended by profile 'c'\)"):
        resolve_profile(path, "c")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        ProfileFile.load(tmp_path / "missing.toml")
    broken = tmp_path / "molexp.toml"
    broken.write_text("[defaults\n")
    with pytest.raises(ProfileError, match=f"{broken} is not valid TOML"):
        ProfileFile.load(broken)
    broken.write_text("[profile.quick]\nx = 1\n")
    with pytest.raises(ProfileError, match="unknown top-level table\\(s\\) profile"):
        ProfileFile.load(broken)
    with pytest.raises(ProfileError, match="profile 'quick' was requested but no molexp.toml"):
        resolve_profile(None, "quick")


def test_pyproject_tool_table_and_discovery(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.molexp.profiles.quick]\nsteps = 3\n'
    )
    nested = tmp_path / "pkg" / "sub"
    nested.mkdir(parents=True)
    found = find_profile_file(nested / "workflow.py")
    assert found == tmp_path / "pyproject.toml"
    assert resolve_profile(found, "quick")["steps"] == 3
    (tmp_path / "pkg" / "molexp.toml").write_text("[defaults]\nsteps = 1\n")
    assert find_profile_file(nested) == tmp_path / "pkg" / "molexp.toml"


@attrs.frozen
class MDConfig:
    steps: int
    dt: float
    thermostat: str = "none"


def test_typed_view_structures_a_section() -> None:
    cfg = ProfileConfig({"md": {"steps": 10, "dt": 1}}, name="quick")
    assert cfg.as_(MDConfig, section="md") == MDConfig(steps=10, dt=1.0)


def test_typed_view_rejects_keys_the_class_does_not_declare_unless_allowed() -> None:
    cfg = ProfileConfig({"md": {"steps": 10, "dt": 1, "max_stpes": 5}}, name="quick")
    with pytest.raises(ConfigError) as info:
        cfg.as_(MDConfig, section="md")
    assert info.value.problems == ["extra fields found (max_stpes) @ md"]
    assert cfg.as_(MDConfig, section="md", allow_unknown=True) == MDConfig(steps=10, dt=1.0)


def test_typed_view_reports_every_problem_at_once() -> None:
    cfg = ProfileConfig({"md": {"steps": "10", "thermostat": 3}}, name="quick")
    with pytest.raises(ConfigError) as info:
        cfg.as_(MDConfig, section="md")
    assert str(info.value).startswith("profile 'quick' [md] does not fit MDConfig:")
    assert sorted(info.value.problems) == [
        "expected int, got str '10' @ md.steps",
        "expected str, got int 3 @ md.thermostat",
        "required field missing @ md.dt",
    ]
    with pytest.raises(ConfigError, match="has no table 'solver'"):
        cfg.as_(MDConfig, section="solver")
