"""Benchmark of resume and the cross-run cache (issue 13).

Run from the repository root: ``python benchmarks/cache.py [--quick]``.

1. **Cache key + lookup per task** for a small input (an attrs record of a few fields): the
   key (code hash memoized per execution as the runtime does, the input digest, the key
   digest) plus a lookup miss in the workspace cache, per call; and end to end, a run of N
   trivial tasks with ``cache=True`` against the same run without the cache (both under a
   workspace, fsync off so the disk does not dominate), per task.
2. **Digest throughput** of a large float64 array and of a file of the same size
   (``digest_value``), against ``hashlib.sha256`` over the same bytes in the same run.
3. **Resume** of a 10,000-task chain whose task 5,000 failed: the resumed attempt (5,000
   outputs read back typed, 5,000 tasks run) against the first attempt, and the reuse part
   alone.

Targets (issue 13): <= 50 us per task for the key + lookup of small inputs; digest >= 500
MB/s and within 2x of hashlib; resume in seconds, not re-execution.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import attrs
import numpy as np

from molexp import Task, TaskContext, Workflow, WorkflowRuntime
from molexp.caching import digest_value
from molexp.caching.store import CacheStore, cache_key
from molexp.runtime.persistence import NodeHook
from molexp.runtime.plan import plan_for
from molexp.workspace import Workspace


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@attrs.frozen
class Params:
    temperature: float
    steps: int
    label: str
    cell: tuple[float, float, float]


@attrs.frozen
class Step(Task[TaskContext[None, None, Any], int]):
    i: int = 0  # a parameter: every node has its own cache key

    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        return 1 if ctx.inputs is None or isinstance(ctx.inputs, Params) else int(ctx.inputs) + 1


class Chain(Task[TaskContext[None, None, Any], int]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        if ctx.task_id in _FAILING.names:
            raise RuntimeError("fails in the first attempt")
        return 0 if ctx.inputs is None else int(ctx.inputs) + 1


class _Failing:
    """A plain object: code hashes identify it by type, so changing it between attempts
    does not change the chain's lineage (a module-level set would be hashed by content)."""

    def __init__(self) -> None:
        self.names: set[str] = set()


_FAILING = _Failing()


def key_and_lookup(root: Path, calls: int) -> float:
    ws = Workspace(root / "ws-key", fsync=False)
    wf: Workflow[None, None, Params] = Workflow("keys", input=Params)
    wf.add(Step())
    run = ws.project("p").experiment("e").add_run()
    store = CacheStore(ws.root, fsync=False)
    inputs = Params(300.0, 1000, "npt", (10.0, 10.0, 12.5))

    async def measure() -> float:
        async with run.start() as rc:
            hook = NodeHook(
                wf, plan_for(wf), run_context=rc, config=rc.config, inputs=inputs, cache=True
            )
            base = hook._base_parts(0)  # code hash: once per execution (memoized)

            def one() -> None:
                for _ in range(calls):
                    key, _parts = cache_key(base, inputs, task_id="step")
                    store.get(key)

            hook.close()
            return best(one, 3) / calls

    return asyncio.run(measure())


def end_to_end(root: Path, n: int) -> tuple[float, float, float]:
    wf: Workflow[None, None, Params] = Workflow("wide", input=Params)
    for i in range(n):
        wf.add(Step(i), name=f"s{i}")
    inputs = Params(300.0, 1000, "npt", (10.0, 10.0, 12.5))
    ws = Workspace(root / "ws-e2e", fsync=False)

    def timed(cache: bool) -> float:
        run = ws.project("p").experiment("e").add_run()

        async def go() -> float:
            async with run.start() as rc:
                start = time.perf_counter()
                result = await WorkflowRuntime().execute(
                    wf, run_context=rc, inputs=inputs, cache=cache
                )
                elapsed = time.perf_counter() - start
            assert result.ok, result.failure
            return elapsed

        return asyncio.run(go())

    plain = min(timed(False) for _ in range(2))
    cached = timed(True)  # the first cached run computes every key, misses, stores entries
    hits = timed(True)  # every task a hit: the output read from the first run's records
    return plain / n, cached / n, hits / n


def digests(root: Path, megabytes: int) -> list[tuple[str, float, float]]:
    array = np.random.default_rng(0).random(megabytes * 2**20 // 8)
    nbytes = array.nbytes
    raw_array = best(lambda: hashlib.sha256(memoryview(array).cast("B")).digest(), 2)
    ours_array = best(lambda: digest_value(array), 2)
    path = root / "big.bin"
    array.tofile(path)

    def raw_file() -> None:
        h = hashlib.sha256()
        with open(path, "rb", buffering=0) as f:
            buf = bytearray(1 << 20)
            view = memoryview(buf)
            while n := f.readinto(buf):
                h.update(view[:n])

    raw_f = best(raw_file, 2)
    ours_f = best(lambda: digest_value(path), 2)
    path.unlink()
    mb = nbytes / 1e6
    return [("array", mb / raw_array, mb / ours_array), ("file", mb / raw_f, mb / ours_f)]


def resume(root: Path, n: int) -> tuple[float, float, float, int]:
    wf: Workflow[None, None, None] = Workflow("long-chain")
    previous = None
    for i in range(n):
        previous = wf.add(Chain(), name=f"t{i}", after=previous)
    ws = Workspace(root / "ws-resume", fsync=False)
    run = ws.project("p").experiment("e").add_run()
    _FAILING.names = {f"t{n // 2}"}

    async def attempt() -> tuple[float, Any]:
        async with run.start() as rc:
            start = time.perf_counter()
            result = await WorkflowRuntime().execute(wf, run_context=rc)
            return time.perf_counter() - start, result

    first, failed = asyncio.run(attempt())
    assert failed.status == "failed" and len(failed.outputs) == n // 2
    _FAILING.names = set()
    second, done = asyncio.run(attempt())
    assert done.ok and len(done.reused) == n // 2 and done.outputs[f"t{n - 1}"] == n - 1
    reuse = sum(done.durations[t] for t in done.reused)
    return first, second, reuse, len(done.reused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke)")
    args = parser.parse_args()
    calls, wide, megabytes, chain = (
        (200, 100, 32, 1000) if args.quick else (5000, 1000, 1024, 10_000)
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        per_call = key_and_lookup(root, calls)
        print(
            f"cache key + lookup (small attrs input): {per_call * 1e6:8.1f} us/task  target <= 50"
        )
        plain, cached, hits = end_to_end(root, wide)
        print(
            f"run of {wide} tasks under a workspace (fsync off): {plain * 1e6:7.1f} us/task "
            f"without cache; with cache {cached * 1e6:7.1f} us/task on the first run (key, "
            f"miss, store the entry) and {hits * 1e6:7.1f} us/task when every task hits"
        )
        for what, raw, ours in digests(root, megabytes):
            print(
                f"digest of a {megabytes} MB {what}: {ours:8.0f} MB/s, hashlib sha256 "
                f"{raw:8.0f} MB/s, ratio {ours / raw:5.2f}  target >= 500 MB/s and >= 0.5"
            )
        first, second, reuse, reused = resume(root, chain)
        print(
            f"resume of a {chain}-task chain failed at {chain // 2}: first attempt {first:6.2f} s, "
            f"resumed attempt {second:6.2f} s ({reused} outputs reused in {reuse:5.2f} s, "
            f"{reuse / reused * 1e6:6.1f} us each)"
        )


if __name__ == "__main__":
    main()
