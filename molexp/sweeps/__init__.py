"""Sweeps: one tracked run per cell of a parameter space (x replicas), and running them.

This layer sits above the runtime and the workspace (it runs workflows inside runs);
``Experiment.sweep`` forwards here, importing it only when called.
"""

from molexp.sweeps.grid import SweepError, cells, parse_values
from molexp.sweeps.runset import RunSet, SweepCell, SweepReport, cell_run_id, sweep

__all__ = [
    "RunSet",
    "SweepCell",
    "SweepError",
    "SweepReport",
    "cell_run_id",
    "cells",
    "parse_values",
    "sweep",
]
