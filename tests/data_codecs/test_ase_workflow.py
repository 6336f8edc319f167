"""A chemist's workflow end to end: an EMT relaxation tracked in one process stores
positions checkpoints, forces, the relaxed Atoms and an attrs result; another process
reads them all back typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from molexp.workspace import Workspace

from .ase_relax import Relaxation

SCRIPT = Path(__file__).with_name("ase_relax.py")


def test_relaxation_stored_in_one_process_read_typed_in_another(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    ws = Workspace(tmp_path / "ws")
    run = ws.run(run_id)
    assert run.status == "succeeded"

    checkpoints = [a for a in run.assets("checkpoint") if a.name == "positions"]
    assert len(checkpoints) >= 2
    first = checkpoints[0].load(as_type=np.ndarray)
    last = run.load_checkpoint("positions", as_type=np.ndarray)
    assert first.shape == last.shape == (32, 3) and first.dtype == np.float64
    assert not np.array_equal(first, last)  # the relaxation moved the atoms

    relaxed = ws.catalog.query_assets(name="relaxed", kind="artifact")[0].load(as_type=Atoms)
    forces = ws.catalog.query_assets(name="forces", kind="artifact")[0].load(as_type=np.ndarray)
    result = ws.catalog.query_assets(name="relaxation", kind="artifact")[0].load(as_type=Relaxation)
    assert np.array_equal(relaxed.positions, last)
    assert np.abs(forces).max() < 0.05
    assert relaxed.get_potential_energy() == result.energy == run.results["energy"]
    assert np.array_equal(result.forces, forces) and np.array_equal(relaxed.get_forces(), forces)
    assert result.steps == run.results["steps"] == len(checkpoints) - 1
    assert np.array_equal(result.structure.positions, relaxed.positions)
