"""Cost of ``molexp gen`` and of mypy on what it writes, for 100 / 1,000 / 5,000 tasks.

Run: ``python benchmarks/codegen.py [--quick] [--mypy-sizes 100,1000]``. For each size it
writes a synthetic workflow package (a few task classes reused; chains with a keyed fan-in
every 10 tasks), then measures in this process:

- ``import``: importing the workflow module (building the graph): the baseline;
- ``gen``: the whole ``molexp gen`` pipeline (import with placeholders, model, templates);
- ``mypy``: ``mypy --strict`` on the package with its generated module (cold cache), with
  ``mypy startup`` (mypy --strict on a one-line module) measured in the same run.

Best of N repeats for the fast figures. Target: gen <= 1 s for 1,000 tasks, about linear.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1000, 1 repeat")
    parser.add_argument(
        "--mypy-sizes",
        default="100,1000",
        help="sizes to type-check (comma separated; 'none' to skip); default 100,1000",
    )
    args = parser.parse_args()
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
