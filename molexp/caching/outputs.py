"""A run's task records: typed task outputs and every try, in the run folder.

```
runs/<run_id>/
  tasks.jsonl            one JSON line per event, appended (fsync'd) in order:
                         {"event": "try", ...}      a try of a task: status, error, duration
                         {"event": "output", ...}   a stored output (inline JSON, or a file)
                         {"event": "unstored", ...} an output that could not be stored (why)
                         {"event": "reused", ...}   a resumed attempt took a stored output
  outputs/<digest>.<n><suffix>   outputs too large to inline, or not JSON (arrays, bundles)
```

An output is *stored* once its ``output`` line is in ``tasks.jsonl``: the file it points to
was written, fsync'd and renamed into place first, so a SIGKILL at any point leaves either no
record (the task runs again) or a record whose value is complete. A torn last line (a kill
during the append) is ignored. The lines themselves are fsync'd in groups (group commit,
issue 16): a helper thread fsyncs the file ``GROUP_SYNC_DELAY`` after a write, once for all
the lines written meanwhile, and closing the records fsyncs what is left. So the scheduler
never waits for a record's fsync; a power loss can forget the last few records (those
tasks run again on resume, which is correct), a killed process cannot.

Outputs go through the codecs (``molexp.codecs.pack``): JSON via cattrs for attrs classes,
dataclasses, builtins, enums and datetimes; a codec's file for numpy arrays or ASE
``Atoms``; a bundle for both. They are read back as the task's declared output type.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from molexp.codecs import CodecError, pack, unpack
from molexp.workspace.atomic import dump_json_line, ensure_dir, fsync_dir, write_all

__all__ = [
    "INLINE_LIMIT",
    "OUTPUTS",
    "TASKS_JSONL",
    "TaskRecords",
    "load_output",
    "read_records",
    "resolve_type",
]

logger = logging.getLogger("molexp.runtime")

TASKS_JSONL = "tasks.jsonl"
OUTPUTS = "outputs"
INLINE_LIMIT = 64 * 1024
"""JSON outputs up to this many bytes are stored in their record line (one write)."""


_second: tuple[int, str] = (-1, "")
"""The last whole second formatted (one record per task: formatting once a second is cheap)."""


def _now() -> str:
    """UTC now as ``2026-11-30T01:02:03.456+00:00`` (``isoformat``'s milliseconds form)."""
    global _second
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    if _second[0] != seconds:
        _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{_second[1]}.{nanos // 1_000_000:03d}+00:00"


def resolve_type(type_name: str | None) -> Any:
    """The class a stored output was (``pkg.mod.Class``), or None when it cannot be imported."""
    if not type_name or "[" in type_name or "<" in type_name:
        return None
    module, _, qual = type_name.rpartition(".")
    while module:
        try:
            obj: Any = importlib.import_module(module)
        except ImportError:
            qual = f"{module.rpartition('.')[2]}.{qual}"
            module = module.rpartition(".")[0]
            continue
        for part in qual.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj if isinstance(obj, type) else None
    return None


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every complete record of a ``tasks.jsonl`` (a torn or damaged line is skipped)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[dict[str, Any]] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            logger.warning("%s: line %d is damaged (a killed write); skipped", path, number)
            continue
        if isinstance(record, dict) and isinstance(record.get("task"), str):
            records.append(record)
    return records


GROUP_SYNC_DELAY = 0.02
"""Seconds between a record's write and the fsync that covers it and its neighbours."""


class _GroupSync:
    """fsyncs one file on a helper thread, shortly after writes: one fsync per group."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._dirty = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="molexp-records-sync", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        if not self._dirty.is_set():  # set() takes a lock and notifies: once per group
            self._dirty.set()

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping:
                return
            time.sleep(GROUP_SYNC_DELAY)  # let the lines of this group be written
            self._dirty.clear()  # a line written from here on marks the next group
            try:
                os.fsync(self._fd)
            except OSError as exc:  # the final fsync in close() reports it again
                logger.warning("task records: fsync failed: %s", exc)
            if self._stopping:  # close() came during the sleep: its wake-up was cleared
                return

    def close(self) -> None:
        """Stop the helper, then fsync whatever it has not (on the caller's thread)."""
        self._stopping = True
        self._dirty.set()
        self._thread.join()
        os.fsync(self._fd)


class TaskRecords:
    """The task records of one run (the owner process appends; readers replay)."""

    def __init__(self, run_path: Path, *, attempt: int, fsync: bool = True) -> None:
        self.run_path = run_path
        self.path = run_path / TASKS_JSONL
        self.outputs_dir = run_path / OUTPUTS
        self.attempt = attempt
        self.fsync = fsync
        self._fd: int | None = None
        self._sync: _GroupSync | None = None
        self._serial = 0
        self.records = read_records(self.path)
        self.stored: dict[str, dict[str, Any]] = {}
        """Per task id: its latest ``output`` record (what a resume may reuse)."""
        for record in self.records:
            if record.get("event") == "output":
                self.stored[record["task"]] = record
            self._serial = max(self._serial, int(record.get("serial", 0)))

    # -- writing -----------------------------------------------------------------------------

    def append(self, fields: dict[str, Any], *, durable: bool = True) -> dict[str, Any]:
        """Append one record (fsync'd when ``durable`` and the workspace fsyncs); the record
        as written."""
        self._serial += 1
        record = {
            "event": fields["event"],
            "task": fields["task"],
            "run_attempt": self.attempt,
            "serial": self._serial,
            "at": _now(),
        }
        record.update((k, v) for k, v in fields.items() if k not in record)
        line = dump_json_line(record)
        if self._fd is None:
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644
            )
        write_all(self._fd, line)
        if self.fsync and durable:
            if self._sync is None:
                self._sync = _GroupSync(self._fd)
            self._sync.mark()
        self.records.append(record)
        if record["event"] == "output":
            self.stored[record["task"]] = record
        return record

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def store_output(self, task_id: str, value: Any, **extra: Any) -> dict[str, Any] | str:
        """Store ``value`` durably and record it; the record, or why it cannot be stored."""
        what = f"task {task_id!r} output"
        try:
            packed = pack(value, what=what)
        except (CodecError, TypeError, ValueError, RecursionError) as exc:
            return str(exc)
        record: dict[str, Any] = {
            "event": "output",
            "task": task_id,
            "encoding": packed.encoding,
            "type": packed.type_name,
            **extra,
        }
        try:
            if packed.payload is not None and len(packed.payload) <= INLINE_LIMIT:
                record["inline"] = json.loads(packed.payload)
                record["sha256"] = hashlib.sha256(packed.payload).hexdigest()
            else:
                name, digest = self._write_file(task_id, packed)
                record["file"] = f"{OUTPUTS}/{name}"
                record["sha256"] = digest
        except (CodecError, TypeError, ValueError) as exc:
            return f"{what}: {exc}"
        return self.append(record)

    def _write_file(self, task_id: str, packed: Any) -> tuple[str, str]:
        ensure_dir(self.outputs_dir, fsync=self.fsync)
        stem = hashlib.sha256(task_id.encode()).hexdigest()[:16]
        name = f"{stem}.{self.attempt}.{self._serial + 1}{packed.suffix}"
        final = self.outputs_dir / name
        tmp = self.outputs_dir / f".{name}.{os.getpid()}.tmp"
        h = hashlib.sha256()
        try:
            with open(tmp, "wb") as stream:
                if packed.payload is not None:
                    stream.write(packed.payload)
                    h.update(packed.payload)
                else:
                    packed.write(_Tee(stream, h))
                stream.flush()
                if self.fsync:
                    os.fsync(stream.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if self.fsync:
            fsync_dir(self.outputs_dir)
        return name, h.hexdigest()

    # -- reading -----------------------------------------------------------------------------

    def load(self, record: dict[str, Any], as_type: Any) -> Any:
        """The value of an ``output`` record, as ``as_type`` (or its recorded class)."""
        return load_output(record, as_type, self.run_path)


def load_output(record: dict[str, Any], as_type: Any, run_path: Path) -> Any:
    """The value of an ``output`` record of the run at ``run_path``, as ``as_type`` (None:
    the class it was stored from, when importable; else its JSON)."""
    task_id = record["task"]
    what = f"task {task_id!r} stored output"
    encoding = str(record["encoding"])
    if as_type is None:
        as_type = resolve_type(record.get("type"))
    if "inline" in record:
        stream: Any = io.BytesIO(json.dumps(record["inline"]).encode())
        return unpack(stream, encoding, as_type=as_type, what=what)
    path = run_path / str(record["file"])
    with open(path, "rb") as file_stream:
        return unpack(file_stream, encoding, as_type=as_type, what=what, suffix=path.suffix)


class _Tee(io.RawIOBase):
    """Writes to a file and a hash at once (a codec's ``write`` streams into it)."""

    def __init__(self, stream: Any, h: Any) -> None:
        self._stream = stream
        self._h = h

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._h.update(data)
        self._stream.write(data)
        return len(data)
