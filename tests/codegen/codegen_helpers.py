"""Helpers of the generator tests: paths, the CLI in a subprocess, and batched type-checker
runs (one mypy, one basedpyright invocation over many files)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
GOLDEN = HERE / "golden"
STUB_CASES = {"cg_stubbed": "stubbed_flow.py", "cg_stubbed_actors": "streamed_flow.py"}
RUNTIME_CASES = sorted(
    p.name for p in CASES.iterdir() if p.is_dir() and (p / "workflow.py").is_file()
)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that must import this checkout's molexp."""
    env = dict(os.environ)
    paths = [str(REPO), *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


def molexp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "molexp", *args],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@attrs.frozen
class Diagnostic:
    file: Path
    line: int
    message: str


def run_mypy(
    targets: Sequence[Path], *, cwd: Path, mypy_path: Sequence[Path] = ()
) -> list[Diagnostic]:
    """One mypy --strict run (in-process, cache shared across the session)."""
    import tempfile

    from mypy import api

    config = Path(tempfile.mkdtemp(prefix="molexp-mypy-config-")) / "mypy.ini"
    search = os.pathsep.join(str(p) for p in [REPO, *mypy_path])
    config.write_text(
        "[mypy]\nstrict = True\nwarn_unused_ignores = True\n"
        f"mypy_path = {search}\ncache_dir = {_cache_dir()}\n",
        encoding="utf-8",
    )
    old = Path.cwd()
    os.chdir(cwd)
    try:
        stdout, stderr, _ = api.run(
            [
                "--config-file",
                str(config),
                "--show-column-numbers",
                "--no-pretty",
                "--show-error-codes",
                *[str(t) for t in targets],
            ]
        )
    finally:
        os.chdir(old)
    assert "error: " not in stderr, stderr
    found = []
    for line in stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit() and " error: " in f" {parts[3]}":
            found.append(Diagnostic((cwd / parts[0]).resolve(), int(parts[1]), parts[3].strip()))
    return found


_CACHE: list[Path] = []


def _cache_dir() -> Path:
    if not _CACHE:
        import tempfile

        _CACHE.append(Path(tempfile.mkdtemp(prefix="molexp-mypy-cache-")))
    return _CACHE[0]


def run_pyright(
    targets: Sequence[Path],
    *,
    cwd: Path,
    extra_paths: Sequence[Path] = (),
    mode: str = "strict",
    severities: Sequence[str] = ("error",),
) -> list[Diagnostic]:
    """One basedpyright run in ``mode`` (strict by default); returns its diagnostics of
    the given severities (errors by default), the rule in parentheses after the message."""
    config = cwd / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": mode,
                "pythonVersion": "3.11",
                "extraPaths": [str(REPO), *[str(p) for p in extra_paths]],
                "reportMissingModuleSource": False,
            }
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        # The venv's basedpyright (its module), never whatever is first on PATH.
        [sys.executable, "-m", "basedpyright", "--outputjson", "-p", str(config)]
        + [str(t) for t in targets],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report = json.loads(proc.stdout)
    return [
        Diagnostic(
            Path(d["file"]).resolve(),
            d.get("range", {"start": {"line": 0}})["start"]["line"] + 1,  # a cycle has no range
            f"{d['message']} ({d.get('rule', '')})",
        )
        for d in report["generalDiagnostics"]
        if d["severity"] in severities
    ]


def copy_cases(dest: Path) -> Path:
    shutil.copytree(
        CASES, dest, ignore=shutil.ignore_patterns("__pycache__", "*_contexts.py", "*_edges.py")
    )
    return dest
