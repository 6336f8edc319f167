"""The assets part of the end-of-run summary: a line per asset when few, else grouped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from molexp.cli.common import format_size

__all__ = ["asset_lines"]

LIST_AT_MOST = 12
"""Up to this many assets are listed one per line; more are grouped."""


def asset_lines(assets: Sequence[Any], limit: int = LIST_AT_MOST) -> list[str]:
    """``assets (N):`` and its lines. Beyond ``limit`` assets, one line per kind, task and
    name group: the versions of one name (``equilibration v1-v20``) and the names under one
    folder (``frames/* (200 names)``) each become one line with their total size."""
    if not assets:
        return []
    lines = [f"assets ({len(assets)}):"]
    if len(assets) <= limit:
        for asset in assets:
            lines.append(
                f"  {asset.kind:<10} {asset.name} v{asset.version}  "
                f"{format_size(asset.size)}  by {_producer(asset)}"
            )
        return lines
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for asset in assets:
        head, sep, _ = asset.name.partition("/")
        label = f"{head}/*" if sep else asset.name
        groups.setdefault((asset.kind, _producer(asset), label), []).append(asset)
    for (kind, producer, label), members in groups.items():
        names = {a.name for a in members}
        versions = sorted(a.version for a in members)
        if len(names) > 1:
            what = f"{label} ({len(names)} names, {len(members)} versions)"
            if len(names) == len(members):
                what = f"{label} ({len(names)} names)"
        elif len(versions) > 1:
            what = f"{label} v{versions[0]}-v{versions[-1]}"
        else:
            what = f"{label} v{versions[0]}"
        size = format_size(sum(a.size for a in members))
        lines.append(f"  {kind:<10} {what}  {size}  by {producer}")
    lines.append("  (grouped: molexp assets --run RUN lists each one)")
    return lines


def _producer(asset: Any) -> str:
    producer = asset.producer
    return producer.task_id if producer is not None and producer.task_id else "-"
