"""Every command, sub-action and option of ``molexp`` has help text."""

from __future__ import annotations

import argparse
import subprocess
import sys

from molexp.cli.main import build_parser


def _missing(parser: argparse.ArgumentParser, where: str) -> list[str]:
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {choice.dest for choice in action._choices_actions if choice.help}
            for name, sub in action.choices.items():
                if name not in helped:
                    missing.append(f"{where} {name} (command)")
                missing += _missing(sub, f"{where} {name}")
        elif not action.help:
            missing.append(f"{where} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_command_and_option_has_help() -> None:
    assert _missing(build_parser(), "molexp") == []


def test_help_runs_for_every_command() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in commands.choices:
        proc = subprocess.run(
            [sys.executable, "-m", "molexp", name, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0 and "usage: molexp" in proc.stdout, name
