"""Media types of the files scientists store, from their extension.

A fixed table first (the same answer on every host: ``mimetypes`` reads the machine's
``/etc/mime.types``, which differs between systems and knows few chemistry formats), then
``mimetypes`` for everything else (images, archives, documents).
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

__all__ = ["MEDIA_TYPES", "OCTET_STREAM", "is_text", "media_type_for"]

OCTET_STREAM = "application/octet-stream"

MEDIA_TYPES: dict[str, str] = {
    # structures and trajectories
    ".xyz": "chemical/x-xyz",
    ".extxyz": "chemical/x-extxyz",
    ".pdb": "chemical/x-pdb",
    ".cif": "chemical/x-cif",
    ".mol": "chemical/x-mdl-molfile",
    ".sdf": "chemical/x-mdl-sdfile",
    ".mol2": "chemical/x-mol2",
    ".gro": "chemical/x-gro",
    ".cube": "chemical/x-gaussian-cube",
    ".traj": "application/x-ase-trajectory",
    ".xtc": "application/x-gromacs-xtc",
    ".trr": "application/x-gromacs-trr",
    ".dcd": "application/x-dcd",
    ".lammpstrj": "text/x-lammps-dump",
    ".nc": "application/x-netcdf",
    ".h5": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    # arrays and tables
    ".npy": "application/x-npy",
    ".npz": "application/zip",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    # text
    ".log": "text/plain",
    ".txt": "text/plain",
    ".out": "text/plain",
    ".md": "text/markdown",
    ".in": "text/plain",
    ".zip": "application/zip",
}
"""Suffix (lower case) -> media type; checked before ``mimetypes``."""


def media_type_for(name: str) -> str | None:
    """The media type of a file called ``name`` (by its extension), or None if unknown."""
    suffix = PurePosixPath(name).suffix.lower()
    known = MEDIA_TYPES.get(suffix)
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def is_text(media_type: str) -> bool:
    """Whether files of ``media_type`` are text."""
    return media_type.startswith("text/") or media_type in (
        "chemical/x-xyz",
        "chemical/x-extxyz",
        "chemical/x-pdb",
        "chemical/x-cif",
        "application/json",
        "application/jsonl",
        "application/yaml",
        "application/toml",
    )
