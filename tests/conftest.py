"""Suite-wide check: the tests leave the repository tree as they found it.

Tests write into ``tmp_path`` only; tool caches (mypy's, ruff's) go to temporary folders.
At the end of the session every file that appeared in the checkout since its start (untracked,
ignored ones included, bytecode excepted) is listed and the session fails.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Written by Python and pip themselves, not by a test.
ALLOWED = ("__pycache__/", ".egg-info/", ".pytest_cache/")

_before: set[str] | None = None


def untracked_files() -> set[str] | None:
    """Untracked and ignored files of the checkout, one path each; None outside git."""
    try:
        proc = subprocess.run(
            ["git", "status", "--porcelain", "-z", "--ignored=traditional", "-uall", "--", "."],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    entries = [e for e in proc.stdout.split("\0") if e[:3] in ("?? ", "!! ")]
    return {e[3:] for e in entries if not any(part in e for part in ALLOWED)}


def pytest_sessionstart(session: pytest.Session) -> None:
    global _before
    _before = untracked_files()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _before is None:
        return
    after = untracked_files()
    if after is None:
        return
    new = sorted(after - _before)
    if not new:
        return
    shown = "\n".join(f"  {path}" for path in new[:20])
    more = f"\n  ... and {len(new) - 20} more" if len(new) > 20 else ""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"the tests wrote {len(new)} file(s) into the repository {REPO} "
        f"(write to tmp_path, point tool caches at a temporary folder):\n{shown}{more}"
    )
    if reporter is not None:
        reporter.write_line(f"\nERROR: {message}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
