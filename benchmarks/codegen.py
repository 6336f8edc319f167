"""Cost of ``molexp gen`` and of mypy on what it writes, for 100 / 1,000 / 5,000 tasks.

Run: ``python benchmarks/codegen.py [--quick] [--mypy-sizes 100,1000]``. For each size it
writes a synthetic workflow package (a few task classes reused; chains with a keyed fan-in
every 10 tasks), then measures in this process:

- ``import``: importing the workflow module (building the graph): the baseline;
- ``gen``: the whole ``molexp gen`` pipeline (import with placeholders, model, templates);
- ``mypy``: ``mypy --strict`` on the package with its generated module (cold cache), with
  ``mypy startup`` (mypy --strict on a one-line module) measured in the same run.

Best of N repeats for the fast figures. Target: gen <= 1 s for 1,000 tasks, about linear.

``--scan 1000`` measures the shape of a real scan instead: 1 root, N-2 nodes of one ``Relax``
class (annotated with the one generated ``RelaxContext`` they share) and a homogeneous
``Sequence[Relaxed]`` summary: gen time, the generated modules' size (at N/4, N/2 and N, to
show it grows linearly), mypy --strict cold and warm (same cache), basedpyright (first and
second run) and a warm ``molexp check`` (``gen --check`` plus mypy on a warm cache).
Targets: gen <= 1 s, warm ``molexp check`` <= 2 s for 1,000 tasks.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = """\
from __future__ import annotations

from typing import Any

import attrs

from molexp import Task, TaskContext


@attrs.define
class State:
    steps: int = 0


@attrs.frozen
class Frame:
    step: int


class Start(Task[TaskContext[State, None, None], Frame]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> Frame:
        return Frame(0)


class Step(Task[TaskContext[State, None, Frame], Frame]):
    async def execute(self, ctx: TaskContext[State, None, Frame]) -> Frame:
        return Frame(ctx.inputs.step + 1)


class Reduce(Task[TaskContext[State, None, Any], Frame]):
    async def execute(self, ctx: TaskContext[State, None, Any]) -> Frame:
        return Frame(sum(f.step for f in ctx.inputs.values()))
"""

WORKFLOW_HEAD = """\
from __future__ import annotations

from molexp import Workflow

from PKG.tasks import Reduce, Start, State, Step

wf = Workflow("bench", state=State)
prev = wf.add(Start(), name="t0")
"""


def write_package(root: Path, name: str, size: int) -> Path:
    """A workflow of ``size`` tasks: Step chains; every 10th task a 3-key fan-in."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(TASKS.replace("PKG", name))
    lines = [WORKFLOW_HEAD.replace("PKG", name)]
    for i in range(1, size):
        if i % 10 == 0 and i >= 3:
            lines.append(
                f"prev = wf.add(Reduce(), name='t{i}', "
                f"after={{'a': prev, 'b': wf.node('t{i - 2}'), 'c': wf.node('t{i - 3}')}})\n"
            )
        else:
            lines.append(f"prev = wf.add(Step(), after=prev, name='t{i}')\n")
    (package / "workflow.py").write_text("".join(lines))
    return package


def _forget(name: str) -> None:
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def best_of(repeats: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_gen(root: Path, name: str, repeats: int) -> tuple[float, float, int]:
    from molexp_codegen.api import plan, write
    from molexp_codegen.loader import placeholder_imports

    package = root / name
    target = str(package / "workflow.py")
    contexts = package / "workflow_contexts.py"

    def import_only() -> None:
        _forget(name)
        with placeholder_imports([contexts]):
            importlib.import_module(f"{name}.workflow")

    def generate() -> None:
        _forget(name)
        write(plan(target, line_length=88))

    sys.path.insert(0, str(root))
    try:
        t_import = best_of(repeats, import_only)
        t_gen = best_of(repeats, generate)
    finally:
        sys.path.remove(str(root))
    return t_import, t_gen, len(contexts.read_text().splitlines())


def measure_mypy(root: Path, targets: list[str]) -> float:
    from mypy import api

    cache = Path(tempfile.mkdtemp(prefix="bench-mypy-cache-"))
    try:
        start = time.perf_counter()
        stdout, stderr, code = api.run(
            ["--strict", "--cache-dir", str(cache), "--no-error-summary", *targets]
        )
        elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if code != 0:
        raise SystemExit(f"mypy failed on {targets}:\n{stdout}{stderr}")
    return elapsed


SCAN_MODELS = """\
from __future__ import annotations

import attrs


@attrs.define
class State:
    steps: int = 0


@attrs.frozen
class Structure:
    atoms: int


@attrs.frozen
class Relaxed:
    energy: float
"""

SCAN_TASKS = """\
from __future__ import annotations

from collections.abc import Sequence

from molexp import Task, TaskContext

from PKG.models import Relaxed, State, Structure
from PKG.workflow_contexts import RelaxContext


class Build(Task[TaskContext[State, None, None], Structure]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> Structure:
        return Structure(8)


class Relax(Task[RelaxContext, Relaxed]):
    def __init__(self, shift: float) -> None:
        self.shift = shift

    async def execute(self, ctx: RelaxContext) -> Relaxed:
        return Relaxed(-float(ctx.inputs.atoms) + self.shift)


class Summary(Task[TaskContext[State, None, Sequence[Relaxed]], float]):
    async def execute(self, ctx: TaskContext[State, None, Sequence[Relaxed]]) -> float:
        return min(r.energy for r in ctx.inputs)
"""

SCAN_WORKFLOW = """\
from __future__ import annotations

from molexp import Workflow

from PKG.models import State
from PKG.tasks import Build, Relax, Summary

wf = Workflow("scan", state=State)
build = wf.add(Build())
relaxed = [wf.add(Relax(i * 0.01), after=build, name=f"relax_{i}") for i in range(COUNT)]
summary = wf.add(Summary(), after=relaxed)
"""


def write_scan(root: Path, name: str, size: int) -> Path:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(SCAN_MODELS)
    (package / "tasks.py").write_text(SCAN_TASKS.replace("PKG", name))
    workflow = SCAN_WORKFLOW.replace("PKG", name).replace("COUNT", str(size - 2))
    (package / "workflow.py").write_text(workflow)
    return package


def _timed(argv: list[str], cwd: Path) -> float:
    import subprocess

    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return elapsed


def scan(size: int) -> None:
    import json
    import os

    from molexp_codegen.api import plan, write

    root = Path(tempfile.mkdtemp(prefix="molexp-bench-scan-"))
    sys.path.insert(0, str(root))
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(root)])
    try:
        print("scan: 1 root, Relax x (N-2) sharing one context, a Sequence[Relaxed] summary")
        print(f"{'tasks':>6} {'gen':>9} {'contexts':>16} {'edges':>16}")
        for n in sorted({max(size // 4, 4), max(size // 2, 4), size}):
            name = f"scan_{n}"
            package = write_scan(root, name, n)

            def generate(name: str = name, package: Path = package) -> None:
                _forget(name)
                write(plan(str(package / "workflow.py"), line_length=88))

            t_gen = best_of(3, generate)
            contexts = (package / "workflow_contexts.py").read_text()
            edges = (package / "workflow_edges.py").read_text()
            print(
                f"{n:>6} {t_gen * 1e3:>7.1f}ms {len(contexts.splitlines()):>6} lines "
                f"{len(contexts) // 1024:>3} KiB {len(edges.splitlines()):>6} lines "
                f"{len(edges) // 1024:>3} KiB"
            )
        name = f"scan_{size}"
        cache = root / "mypy-cache"
        mypy = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), name]
        startup = root / "startup.py"
        startup.write_text("x: int = 1\n")
        base = _timed(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--cache-dir",
                str(root / "c0"),
                "startup.py",
            ],
            root,
        )
        cold = _timed(mypy, root)
        warm = _timed(mypy, root)
        (root / "pyrightconfig.json").write_text(
            json.dumps({"typeCheckingMode": "strict", "extraPaths": [str(ROOT), str(root)]})
        )
        pyright = [sys.executable, "-m", "basedpyright", "-p", "pyrightconfig.json", name]
        first = _timed(pyright, root)
        second = _timed(pyright, root)
        check = [
            sys.executable,
            "-m",
            "molexp",
            "check",
            f"{name}/workflow.py",
            "--mypy-arg=--strict",
            f"--mypy-arg=--cache-dir={cache}",
        ]
        _timed(check, root)  # its own targets warm the cache once
        warm_check = _timed(check, root)
        print(f"mypy startup (one-line module, cold cache, subprocess): {base:.2f}s")
        print(f"mypy --strict on {size} tasks: cold {cold:.2f}s, warm {warm:.2f}s")
        print(f"basedpyright strict on {size} tasks: first {first:.2f}s, second {second:.2f}s")
        print(f"molexp check (gen --check + mypy --strict, warm cache): {warm_check:.2f}s")
    finally:
        sys.path.remove(str(root))
        if env_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_path
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1000, 1 repeat")
    parser.add_argument(
        "--mypy-sizes",
        default="100,1000",
        help="sizes to type-check (comma separated; 'none' to skip); default 100,1000",
    )
    parser.add_argument(
        "--scan", type=int, default=0, metavar="N", help="measure an N-task scan (see above)"
    )
    args = parser.parse_args()
    if args.scan:
        scan(args.scan)
        return
    sizes = [100, 1000] if args.quick else [100, 1000, 5000]
    repeats = 1 if args.quick else 3
    mypy_sizes = (
        set() if args.mypy_sizes == "none" else {int(s) for s in args.mypy_sizes.split(",")}
    )
    if args.quick:
        mypy_sizes &= {100}

    import os

    root = Path(tempfile.mkdtemp(prefix="molexp-bench-codegen-"))
    old_path = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = str(ROOT)
    try:
        print(
            f"{'tasks':>6} {'import':>9} {'gen':>9} {'gen/task':>10} {'gen/import':>11} {'lines':>8}"
        )
        per_task: list[float] = []
        for size in sizes:
            name = f"bench_{size}"
            write_package(root, name, size)
            t_import, t_gen, lines = measure_gen(root, name, repeats)
            per_task.append(t_gen / size)
            print(
                f"{size:>6} {t_import * 1e3:>7.1f}ms {t_gen * 1e3:>7.1f}ms "
                f"{t_gen / size * 1e6:>8.1f}µs {t_gen / t_import:>10.1f}x {lines:>8}"
            )
        print(
            f"linearity: gen µs/task at the largest size / smallest = {per_task[-1] / per_task[0]:.2f}"
        )
        if mypy_sizes:
            (root / "startup.py").write_text("x: int = 1\n")
            os.chdir(root)
            baseline = measure_mypy(root, ["startup.py"])
            print(f"mypy startup (one-line module, cold cache): {baseline:.2f}s")
            for size in sorted(mypy_sizes):
                t = measure_mypy(root, [f"bench_{size}"])
                print(
                    f"mypy --strict on {size} tasks + generated module (cold): {t:.2f}s "
                    f"(ratio to startup {t / baseline:.1f}x)"
                )
    finally:
        os.chdir(ROOT)
        if old_path is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = old_path
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
