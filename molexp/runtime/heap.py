"""Keep the cyclic garbage collector off a large workflow's graph while it executes.

A 100,000-node graph is hundreds of thousands of long-lived objects; every full collection
triggered by the execution's own allocations walks all of them again, which took 40-50% of
an execution's time (issue 16). ``gc.freeze()`` moves what exists now (the graph, the plan,
the caller's objects) to the permanent generation for the duration, so collections walk
only what the execution allocates; ``gc.unfreeze()`` hands them back afterwards, so nothing
is kept alive that would otherwise be collected later. Nothing changes semantically: frozen
objects are still freed by reference counting, and collected once unfrozen.

The freeze is process-wide, so it is counted: concurrent executions in one process freeze
on the first entry and unfreeze on the last exit. Small graphs don't bother.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FREEZE_FROM", "frozen_heap"]

FREEZE_FROM = 1_000
"""Graphs of this many nodes or more execute with the heap frozen."""

_depth = 0


@contextmanager
def frozen_heap(nodes: int) -> Iterator[None]:
    global _depth
    if nodes < FREEZE_FROM or not gc.isenabled():
        yield
        return
    if _depth == 0:
        gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()
