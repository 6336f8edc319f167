"""Parameter spaces: ``--grid key=v1,v2`` text, and the cells of a grid crossed with zips."""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["SweepError", "cells", "parse_values"]


class SweepError(ValueError):
    """A sweep's parameter space or values are invalid; the message names the key."""


def _split(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes: ``[1,2],"a,b"`` -> two items."""
    items: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for char in text:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return items


def _literal(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_values(text: str, *, option: str = "--grid") -> tuple[str, list[Any]]:
    """``"md.temperature=1.0,1.5"`` -> ("md.temperature", [1.0, 1.5]). Each value is a TOML
    literal, else a string; commas inside ``[...]``, ``{...}`` or quotes do not split."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or not all(part.strip() for part in parts):
        raise SweepError(f"{option} {text!r} must look like key=v1,v2,...")
    items = _split(raw)
    if any(item == "" for item in items):
        raise SweepError(f"{option} {text!r}: empty value (two commas in a row, or a trailing one)")
    values = [_literal(item) for item in items]
    for value in values:
        if isinstance(value, float) and not math.isfinite(value):
            raise SweepError(
                f"{option} {key}={value!r}: runs record JSON, which has no NaN/Infinity"
            )
    return ".".join(part.strip() for part in parts), values


def cells(
    grid: Mapping[str, Sequence[Any]], zipped: Mapping[str, Sequence[Any]] | None = None
) -> list[dict[str, Any]]:
    """Every cell of ``grid`` (the cartesian product, first key slowest) crossed with the
    ``zipped`` keys, which vary together (all of one length)."""
    zipped = dict(zipped or {})
    for where, space in (("grid", grid), ("zip", zipped)):
        for key, values in space.items():
            if not isinstance(key, str) or not key:
                raise SweepError(f"{where} keys must be non-empty strings, got {key!r}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise SweepError(
                    f"{where} {key}: values must be a list, not {type(values).__name__}"
                )
            if not values:
                raise SweepError(f"{where} {key}: no values")
    both = sorted(set(grid) & set(zipped))
    if both:
        raise SweepError(f"key {both[0]!r} is both in the grid and zipped")
    lengths = {key: len(values) for key, values in zipped.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key} has {n}" for key, n in lengths.items())
        raise SweepError(f"zipped keys must have the same number of values: {shown}")
    zip_rows: list[dict[str, Any]] = [{}]
    if zipped:
        keys = list(zipped)
        zip_rows = [dict(zip(keys, row, strict=True)) for row in zip(*zipped.values(), strict=True)]
    grid_keys = list(grid)
    out: list[dict[str, Any]] = []
    for combo in itertools.product(*(grid[key] for key in grid_keys)):
        for row in zip_rows:
            out.append({**dict(zip(grid_keys, combo, strict=True)), **row})
    return out
