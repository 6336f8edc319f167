"""Identifiers of the generated module: PascalCase class names and unique edge names."""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable

__all__ = ["NameAllocator", "pascal", "snake"]

_WORD = re.compile(r"[A-Za-z0-9]+")


def pascal(text: str) -> str:
    """``train_model`` -> ``TrainModel``; ``lambda`` -> ``Lambda``; ``md-run`` -> ``MdRun``.

    Only the first letter of each word is changed, so ``trainModel`` -> ``TrainModel``.
    """
    words = _WORD.findall(text)
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name:
        return "Task"
    if name[0].isdigit():
        return "T" + name
    return name


def snake(text: str) -> str:
    """``train-pipeline`` -> ``train_pipeline`` (an identifier fragment)."""
    words = _WORD.findall(text)
    return "_".join(w.lower() for w in words) or "workflow"


class NameAllocator:
    """Hands out unique identifiers: the first request for a base gets it, later ones a suffix.

    Allocation follows the order of requests (the workflow's topological order), so adding a
    task never renames the contexts of tasks declared before it.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._used: set[str] = set(reserved)

    def taken(self, name: str) -> bool:
        return name in self._used

    def reserve(self, name: str) -> None:
        self._used.add(name)

    def allocate(self, base: str, suffix: str = "") -> str:
        """``base + suffix`` if free, else ``base + "2" + suffix``, ``base + "3" + suffix``..."""
        candidate = base + suffix
        counter = 2
        while candidate in self._used or keyword.iskeyword(candidate):
            candidate = f"{base}{counter}{suffix}"
            counter += 1
        self._used.add(candidate)
        return candidate


BUILTIN_NAMES = frozenset(dir(builtins))
