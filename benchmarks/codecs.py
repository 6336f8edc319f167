"""Benchmark of molexp.codecs: arrays and trajectories saved/loaded through a workspace.

Run from the repository root: ``python benchmarks/codecs.py [--quick] [--dir PATH]``.
Each figure is a ratio against the raw library call on the same filesystem in the same run:
``np.save``/``np.load`` for a 100 MB float64 array, ``ase.io.write``/``read`` for a
1,000-frame trajectory of 108 Cu atoms with energies and forces. Saves are timed in
interleaved rounds (best of N each), because every new file adds dirty pages that slow the
writes after it. molexp does more than the raw call (a sha256 of the bytes, a manifest
record, a catalog row, the latest view) and keeps every version, so each save writes a new
file: the target row compares it with ``np.save`` to a new path each time (with
``fsync=True``, the workspace default, plus ``os.fsync``). ``np.save`` over one path is
printed for reference: rewriting a file lets the kernel drop the previous content's dirty
pages before they reach the disk, which no versioned store can do. The sha256 alone is
printed as the ceiling of any save that records it. Peak memory of a save is measured with
``tracemalloc`` (numpy reports its allocations to it): a copy of the array would show.

Targets (issue 17): array save/load >= 0.8x of raw numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import jsonio
from ase.io import read as ase_read
from ase.io import write as ase_write

from molexp.workspace import Workspace


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def row(label: str, raw: float, ours: float, size_mb: float, target: float | None) -> None:
    ratio = raw / ours  # throughput ratio: ours / raw
    mark = "" if target is None else ("  ok" if ratio >= target else "  MISS")
    print(
        f"  {label:<44} raw {size_mb / raw:8.0f} MB/s  molexp {size_mb / ours:8.0f} MB/s"
        f"  ratio {ratio:5.2f}x{mark}"
    )


def arrays(root: Path, mb: int, repeat: int) -> None:
    array = np.random.default_rng(0).random(mb * (1 << 20) // 8)
    size = array.nbytes / 1e6
    print(f"array: {array.nbytes / 2**20:.0f} MiB float64, best of {repeat}")
    raw_path = root / "raw.npy"

    def np_save() -> None:
        np.save(raw_path, array)

    def np_save_fsync() -> None:
        with open(raw_path, "wb") as fh:
            np.save(fh, array)
            fh.flush()
            os.fsync(fh.fileno())

    fresh = iter(range(1 << 30))

    def np_save_new_file() -> None:
        # What keeping every version means: a new file each time. Rewriting one path lets
        # the kernel drop the previous content's dirty pages before they ever reach the disk.
        np.save(root / f"raw-{next(fresh)}.npy", array)

    def np_save_new_file_fsync() -> None:
        with open(root / f"raw-{next(fresh)}.npy", "wb") as fh:
            np.save(fh, array)
            fh.flush()
            os.fsync(fh.fileno())

    view = memoryview(array.reshape(-1).view(np.uint8).data)
    digest = best(lambda: hashlib.sha256(view).digest(), repeat)
    print(f"  sha256 of the bytes alone (every save records it): {size / digest:6.0f} MB/s")
    for fsync in (False, True):
        ws = Workspace(root / f"ws-{fsync}", fsync=fsync)
        run = ws.project("bench").experiment("arrays").add_run()
        with run.start() as rc:
            # Interleaved rounds, so that the three see the same page-cache and disk weather
            # (dirty pages pile up as new files are written); best of each.
            variants: dict[str, Callable[[], Any]] = {
                "ours": lambda rc=rc: rc.artifact.save("x", array),
                "new": np_save_new_file_fsync if fsync else np_save_new_file,
                "same": np_save_fsync if fsync else np_save,
            }
            times: dict[str, list[float]] = {k: [] for k in variants}
            names = list(variants)
            for r in range(repeat):
                for k in names[r % 3 :] + names[: r % 3]:
                    start = time.perf_counter()
                    variants[k]()
                    times[k].append(time.perf_counter() - start)
            ours, new, same = (min(times[k]) for k in names)
            # The target compares like with like: molexp keeps every version, so each save
            # is a new file, as np.save to a new path is.
            row(f"save (fsync={fsync}) vs np.save to a new file", new, ours, size, 0.8)
            row("  for reference: vs np.save over one path", same, ours, size, None)
            if not fsync:
                loaded = rc.artifact.load("x")
                assert loaded.tobytes() == array.tobytes()
                ours = best(lambda rc=rc: rc.artifact.load("x"), repeat)
                raw = best(lambda: np.load(raw_path), repeat)
                row("load (vs np.load)", raw, ours, size, 0.8)
                tracemalloc.start()
                rc.artifact.save("y", array)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                print(
                    f"  peak memory allocated while saving: {peak / 2**20:.2f} MiB "
                    f"(array {array.nbytes / 2**20:.0f} MiB)"
                )
        ws.close()


def trajectory(root: Path, frames: int, repeat: int) -> None:
    base = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((3, 3, 3))
    rng = np.random.default_rng(1)
    images: list[Atoms] = []
    for _ in range(frames):
        atoms = base.copy()
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.calc = SinglePointCalculator(
            atoms, energy=float(rng.normal()), forces=rng.normal(size=(len(atoms), 3))
        )
        images.append(atoms)
    print(
        f"trajectory: {frames} frames of {len(base)} atoms with energy and forces, best of {repeat}"
    )
    ws = Workspace(root / "ws-traj", fsync=False)
    run = ws.project("bench").experiment("traj").add_run()
    with run.start() as rc:
        ours_save = best(lambda: rc.artifact.save("traj", images), repeat)
        ours_load = best(lambda: rc.artifact.load("traj", as_type=list[Atoms]), repeat)
        size = rc.artifact.get("traj").size / 1e6  # type: ignore[union-attr]
        print(f"  molexp file (ASE JSON): {size:.1f} MB")
    ws.close()
    for fmt, suffix in (("extxyz", ".extxyz"), ("traj", ".traj")):
        path = root / f"raw{suffix}"
        raw_save = best(lambda p=path, f=fmt: ase_write(p, images, format=f), repeat)
        raw_load = best(lambda p=path, f=fmt: ase_read(p, index=":", format=f), repeat)
        print(f"  vs ase.io.write/read format={fmt} ({path.stat().st_size / 1e6:.1f} MB):")
        row("  save", raw_save, ours_save, size, None)
        row("  load", raw_load, ours_load, size, None)
    path = root / "raw.json"

    def json_write() -> None:
        # The same content as molexp's file: each frame with its energy and forces (ASE's
        # Atoms.todict leaves the calculator out, which would halve the data).
        frames = [
            {"atoms": a, "calculator": {"name": a.calc.name, "results": dict(a.calc.results)}}
            for a in images
        ]
        with open(path, "w") as fh:
            fh.write(jsonio.encode(frames))

    def json_read() -> list[Atoms]:
        frames = jsonio.read_json(str(path), always_array=False)
        out = []
        for frame in frames:
            atoms = frame["atoms"]
            atoms.calc = SinglePointCalculator(atoms, **frame["calculator"]["results"])
            out.append(atoms)
        return out

    raw_save = best(json_write, repeat)
    raw_load = best(json_read, repeat)
    print(
        f"  vs ase.io.jsonio, the same content without molexp ({path.stat().st_size / 1e6:.1f} MB):"
    )
    row("  save", raw_save, ours_save, size, None)
    row("  load", raw_load, ours_load, size, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (a disk)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="molexp-codecs-", dir=args.dir))
    try:
        if args.quick:
            arrays(root, 8, 1)
            trajectory(root, 20, 1)
        else:
            arrays(root, 100, 5)
            trajectory(root, 1000, 3)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
