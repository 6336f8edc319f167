"""The workspace's cross-run cache: key -> the output a run computed, and its history.

```
<root>/.molexp/cache/
  entries/<k[:2]>/<key>.json    the run and task that computed it, and its output record
  history/<task digest>.jsonl   every key stored for a task identity (for `cache explain`)
```

The key (``cache_key``) combines, each as a digest: the task's identity (module and
class), its normalized code hash (``molexp.caching.code``), its parameters, its
``cache_version``, the run's resolved profile config, the content digest of its typed
inputs (``molexp.caching.digest``), and the codec and digest format versions. An entry
points at the stored output in the computing run's ``tasks.jsonl`` record, so a hit reads
that run's file; an entry whose file has gone is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from molexp.caching.digest import DIGEST_VERSION, UnhashableValue, digest_value
from molexp.caching.outputs import load_output
from molexp.workspace.atomic import atomic_write_bytes, dump_json_line, ensure_dir, write_all

if TYPE_CHECKING:
    from molexp.workspace.run_context import RunContext

__all__ = ["CODEC_VERSION", "CacheStore", "cache_key", "explain", "key_of"]

CODEC_VERSION = "1"
"""The stored-output format (``molexp.codecs.pack``); part of every key."""

KEY_PARTS = ("identity", "code", "params", "version", "config", "inputs", "codec")
_LABELS = {
    "identity": "task class",
    "code": "code (the task's, a helper's or a module constant it reads)",
    "params": "task parameters",
    "version": "cache_version",
    "config": "profile config",
    "inputs": "inputs",
    "codec": "codec/digest format version",
}


def key_of(parts: dict[str, Any]) -> str:
    text = ";".join(f"{name}={parts[name]!s}" for name in sorted(parts))
    return hashlib.sha256(b"molexp-cache/1;" + text.encode()).hexdigest()


def cache_key(base: dict[str, Any], inputs: Any, *, task_id: str) -> tuple[str, dict[str, Any]]:
    """The cache key of a task's try and its parts; ``UnhashableValue`` names what cannot
    be digested (the task is then uncacheable)."""
    params = str(base["params"])
    if params.startswith("unhashable: "):
        raise UnhashableValue(f"task {task_id!r} parameters", params.removeprefix("unhashable: "))
    parts = {name: base[name] for name in ("identity", "code", "params", "version", "config")}
    parts["inputs"] = digest_value(inputs, where=f"task {task_id!r} input")
    parts["codec"] = f"{CODEC_VERSION}/{DIGEST_VERSION}"
    return key_of(parts), parts


def _identity_file(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:32] + ".jsonl"


class CacheStore:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.folder = self.root / ".molexp" / "cache"
        self._entries = str(self.folder / "entries")
        self._artifacts: dict[str, list[Any]] = {}
        self._folders: set[Path] = set()
        self.fsync = fsync

    def _entry_path(self, key: str) -> Path:
        return self.folder / "entries" / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = os.path.join(self._entries, key[:2], key + ".json")  # str paths: a miss is
        try:  # the common case, and pathlib would cost more than the lookup itself
            with open(path, "rb") as stream:
                entry = json.loads(stream.read())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        output = entry.get("output") or {}
        if "file" in output and not (self.root / entry["run_path"] / output["file"]).is_file():
            return None
        return entry

    def load(self, entry: dict[str, Any], as_type: Any) -> Any:
        return load_output(entry["output"], as_type, self.root / entry["run_path"])

    def put(self, key: str, parts: dict[str, Any], rc: RunContext, record: dict[str, Any]) -> None:
        run = rc.run
        entry = {
            "key": key,
            "parts": parts,
            "run": run.id,
            "run_path": os.path.relpath(rc.path, self.root),
            "task": record["task"],
            "output": record,
        }
        path = self._entry_path(key)
        self._ensure(path.parent)
        atomic_write_bytes(path, dump_json_line(entry), fsync=self.fsync)
        self._history(parts, {"key": key, "parts": parts, "run": run.id, "task": record["task"]})

    def _ensure(self, folder: Path) -> None:
        if folder not in self._folders:
            ensure_dir(folder, fsync=self.fsync)
            self._folders.add(folder)

    def _history(self, parts: dict[str, Any], line: dict[str, Any]) -> None:
        folder = self.folder / "history"
        self._ensure(folder)
        fd = os.open(
            folder / _identity_file(str(parts["identity"])),
            os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
            0o644,
        )
        try:
            write_all(fd, dump_json_line(line))
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def history(self, identity: str) -> list[dict[str, Any]]:
        path = self.folder / "history" / _identity_file(identity)
        try:
            lines = path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def reregister_assets(self, entry: dict[str, Any], rc: RunContext, task_id: str) -> int:
        """The artifacts the computing task saved, saved again in ``rc`` as ``task_id``'s,
        tagged ``cached-from:<run>`` (their provenance). Returns how many."""
        run_id = str(entry["run"])
        artifacts = self._artifacts.get(run_id)
        if artifacts is None:  # once per source run and execution: hits come in batches
            try:
                source = rc.workspace.run(run_id)
                artifacts = self._artifacts[run_id] = source.assets("artifact")
            except Exception:
                return 0
        binding = rc.bind_task(task_id)
        count = 0
        for asset in artifacts:
            producer = asset.producer
            if producer is None or producer.task_id != entry["task"]:
                continue
            binding.artifact.save(
                asset.name, Path(asset.path), tags=(*asset.tags, f"cached-from:{run_id}")
            )
            count += 1
        return count


def explain(store: CacheStore, record: dict[str, Any]) -> list[str]:
    """Lines saying how a run's task record relates to the cache: a hit (from which run),
    or which parts of its key differ from the latest other key stored for that task."""
    key = record.get("cache_key")
    task = record["task"]
    if key is None:
        return [f"task {task!r} has no cache key in this run (cache not enabled for it)"]
    parts: dict[str, Any] = record.get("cache_parts") or {}
    lines = [f"task {task!r}: key {key[:16]}"]
    source = record.get("source")
    if source and source.get("kind") == "cache":
        lines.append(f"hit: output reused from run {source['run']} (task {source['task']!r})")
        return lines
    others = [h for h in store.history(str(parts.get("identity"))) if h.get("key") != key]
    if not others:
        lines.append("miss: no earlier cached output of this task class")
        return lines
    last = others[-1]
    old: dict[str, Any] = last.get("parts") or {}
    changed = [name for name in KEY_PARTS if old.get(name) != parts.get(name)]
    lines.append(
        f"miss: since the last cached output of this task class (run {last.get('run')}, "
        f"task {last.get('task')!r}), these parts of the key changed:"
    )
    for name in changed:
        lines.append(
            f"  {name}: {_LABELS[name]}  {str(old.get(name))[:12]} -> {str(parts.get(name))[:12]}"
        )
    return lines
