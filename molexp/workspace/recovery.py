"""Putting a run folder right after its owner died: the interrupted document, the files
restored from their records, the temporary files a killed writer left.

Everything here reads paths from the run's own manifest, which is untrusted (a run folder
may be copied in from elsewhere): every path passes the manifest reader's checks, and files
are opened and written only through real folders inside the run (``storage``).
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import os
import re
import stat
from pathlib import Path

from molexp.workspace.assets import now_iso
from molexp.workspace.atomic import atomic_write_bytes
from molexp.workspace.errors import AssetNameError
from molexp.workspace.layout import ARTIFACTS, MANIFEST
from molexp.workspace.manifest import read_records
from molexp.workspace.records import AssetRecord, RunDocument
from molexp.workspace.runfile import RunStatus
from molexp.workspace.storage import link_latest, open_confined, prepare_parent, read_confined

__all__ = ["interrupted_document", "remove_leftovers", "verify_files"]

# Temporary files of an interrupted write: storage's ``.<file>.partial``, atomic_write's
# ``.<file>.<pid>.<8 hex>.tmp`` and link_latest's ``.<file>.<8 hex>.tmp``.
LEFTOVER = re.compile(r"\..+\.(partial|([0-9]+\.)?[0-9a-f]{8}\.tmp)")


def interrupted_document(doc: RunDocument, heartbeat: Path) -> RunDocument:
    """A copy of ``doc`` saying the run was interrupted at its last heartbeat."""
    doc = copy.deepcopy(doc)
    try:
        last_beat = os.stat(heartbeat).st_mtime
        finished = _dt.datetime.fromtimestamp(last_beat, _dt.UTC).isoformat()
    except FileNotFoundError:
        finished = now_iso()
    doc["status"] = RunStatus.INTERRUPTED.value
    doc["finished_at"] = finished
    attempts = doc.get("attempts")
    if attempts:
        attempts[-1]["status"] = RunStatus.INTERRUPTED.value
        attempts[-1]["finished_at"] = finished
    return doc


def remove_leftovers(folder: Path) -> list[str]:
    """Delete the temporary files a killed writer left in the run folder; their paths.

    Only molexp's own patterns (``.<file>.partial``, ``.<file>[.<pid>].<8 hex>.tmp``),
    never a file a manifest record points at, never through a symbolic link. Done when
    a run is found interrupted; a running run's files are not touched.
    """
    records, _, _ = read_records(folder / MANIFEST)
    recorded = {str(r.get("path")) for r in records}
    recorded |= {f"{ARTIFACTS}/{r['name']}" for r in records if r["kind"] == "artifact"}
    removed = []
    for here, dirs, files in os.walk(folder):  # never follows links
        rel_folder = os.path.relpath(here, folder)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
        for name in files:
            if not LEFTOVER.fullmatch(name):
                continue
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            path = os.path.join(here, name)
            if rel in recorded or not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            os.unlink(path)
            removed.append(rel)
    return removed


def _inline_bytes(record: AssetRecord) -> bytes | None:
    if "inline" in record:
        return record["inline"].encode()
    if "inline_b64" in record:
        return base64.b64decode(record["inline_b64"])
    return None


def verify_files(folder: Path, *, repair: bool = True) -> list[str]:
    """Check every small artifact/checkpoint file of the run at ``folder`` against its
    manifest record; with ``repair`` rewrite short or missing ones from the record and
    re-point ``artifacts/<name>`` at the newest version. A description of each wrong file.
    """
    records, _, _ = read_records(folder / MANIFEST)
    problems: list[str] = []
    latest: dict[str, AssetRecord] = {}
    for record in records:
        kind = record["kind"]
        if kind == "artifact":
            latest[record["name"]] = record
        if kind not in ("artifact", "checkpoint") or "path" not in record:
            continue
        data = _inline_bytes(record)
        if data is None:
            continue  # fsynced before its record was written
        rel = record["path"]  # checked by the manifest reader: inside its area
        try:
            ok = read_confined(folder, rel) == data
        except AssetNameError as exc:
            problems.append(f"{kind} {record['name']!r}: {exc}; not repaired")
            continue
        except OSError:
            ok = False
        if ok:
            continue
        problems.append(f"{kind} {record['name']!r} version {record['version']}: {folder / rel}")
        if repair:
            prepare_parent(str(folder), rel, record["name"], fsync=True, verified=set())
            atomic_write_bytes(folder / rel, data, fsync=True)
    for name, record in latest.items():
        problem = _check_latest_view(folder, name, record, repair=repair)
        if problem is not None:
            problems.append(problem)
    return problems


def _check_latest_view(folder: Path, name: str, record: AssetRecord, *, repair: bool) -> str | None:
    version = folder / record["path"]
    view = folder / ARTIFACTS / name
    try:
        fd = open_confined(folder, record["path"])
    except (OSError, AssetNameError):
        return None  # missing, or not a file inside the run: never linked into view
    with os.fdopen(fd, "rb") as fh:
        is_file = stat.S_ISREG(os.fstat(fd).st_mode)
        data = fh.read() if is_file else b""
    try:
        same = (
            os.path.samefile(version, view) or read_confined(folder, f"{ARTIFACTS}/{name}") == data
        )
    except (OSError, AssetNameError):
        same = False
    if same or not is_file:
        return None
    if repair:
        link_latest(
            str(folder), str(version), f"{ARTIFACTS}/{name}", name=name, fsync=True, verified=set()
        )
    return f"artifact {name!r}: {view} is not its newest version"
