"""Typing corpus of the shapes of real workflows (issue 11, second half): generic tasks,
tasks after actors, ... Each case is a small package (shared models, its own tasks and
workflow), generated with ``molexp gen``; all cases go through one mypy ``--strict`` run
and one basedpyright strict run. A good case must be clean under both; a broken one must
fail under both, inside the check function named after the broken edge, mypy's message
carrying the fragment pinned here.
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest
from codegen_helpers import Diagnostic, run_mypy, run_pyright

MODELS = """\
from __future__ import annotations

from typing import Literal, NewType

import attrs
from typing_extensions import TypeAliasType

Energy = NewType("Energy", float)
Vec = TypeAliasType("Vec", list[float])
Mode = Literal["fast", "slow"]


@attrs.frozen
class Model:
    weights: tuple[float, ...]


@attrs.frozen
class Structure:
    atoms: int


@attrs.frozen
class Relaxed:
    energy: float
"""

HIDDEN = """\
from __future__ import annotations

import attrs


@attrs.frozen
class Hidden:
    \"\"\"Imported by the tasks only under TYPE_CHECKING.\"\"\"

    x: int
"""

STUB_ONLY = """\
class StubOnly:
    \"\"\"Known to the checkers only: no stubonly.py exists, so importing it fails.\"\"\"

    x: int
"""

HEADER = """\
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from molexp import Actor, ActorContext, Task, TaskContext, Workflow

from PKG.models import Model, Relaxed, Structure

T = TypeVar("T")
U = TypeVar("U")


class One(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        return 1


class MakeModel(Task[TaskContext[None, None, None], Model]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Model:
        return Model((1.0,))


class Identity(Task[TaskContext[Any, Any, T], T]):
    async def execute(self, ctx: TaskContext[Any, Any, T]) -> T:
        return ctx.inputs


class Count(Task[TaskContext[Any, Any, Sequence[T]], int]):
    async def execute(self, ctx: TaskContext[Any, Any, Sequence[T]]) -> int:
        return len(ctx.inputs)


class Ints(Task[TaskContext[None, None, None], list[int]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[int]:
        return [1]


class Twice(Task[TaskContext[None, None, int], int]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> int:
        return 2 * ctx.inputs


class Emit(Actor[ActorContext[None, None, None, None, None], int]):
    async def run(self, ctx: ActorContext[None, None, None, None, None]) -> AsyncIterator[int]:
        yield 1


class AlwaysEmit(Emit):
    always_yields = True


class TwiceOrZero(Task[TaskContext[None, None, int | None], int]):
    async def execute(self, ctx: TaskContext[None, None, int | None]) -> int:
        return 0 if ctx.inputs is None else 2 * ctx.inputs
"""

WORKFLOW_HEADER = """\
from __future__ import annotations

from molexp import Workflow

from PKG.tasks import *  # noqa: F403

wf = Workflow("case")
"""


@attrs.frozen
class Case:
    name: str
    workflow: str
    """The workflow body (after ``wf = Workflow("case")``)."""
    tasks: str = ""
    """Task classes added to the shared ones."""
    expected: tuple[tuple[str, str], ...] = ()
    """(check function, mypy message fragment) per broken edge; empty: a good case."""
    pyright_expected: tuple[str, ...] | None = None
    """basedpyright's check functions with an error, when not those of ``expected``."""
    mypy_workflow: str | None = None
    """An error mypy reports in the user's workflow module itself (and none in the checks)."""
    pyright_workflow: str | None = None
    """A rule basedpyright strict also reports in the user's workflow module."""


CASES = [
    # Item 4: generic tasks.
    Case(
        "generic_parameterized",
        "one = wf.add(One())\nwf.add(Identity[int](), after=one)\n",
    ),
    Case(
        "generic_subclassed",
        "one = wf.add(One())\nwf.add(IntIdentity(), after=one)\n",
        tasks="class IntIdentity(Identity[int]):\n    pass\n",
    ),
    Case(
        "generic_in_input_only",  # was a bare `task: Count` that strict mypy rejects
        'a = wf.add(MakeModel(), name="a")\nb = wf.add(MakeModel(), name="b")\n'
        "wf.add(Count[Model](), after=[a, b])\n",
    ),
    Case(
        "generic_solved_from_the_graph",
        'one = wf.add(One())\nwf.add(Identity(), after=one)\na = wf.add(MakeModel(), name="a")\n'
        'b = wf.add(MakeModel(), name="b")\nwf.add(Count(), after=[a, b])\n',
        # mypy is clean; basedpyright strict also flags the bare `Count()` (Count[Unknown])
        # in the user's own module: the parameterized form is the one clean under both.
        pyright_workflow="reportUnknownArgumentType",
    ),
    Case(
        "generic_output_feeds_a_plain_task",
        "one = wf.add(One())\nident = wf.add(Identity[int](), after=one)\n"
        "wf.add(Twice(), after=ident)\n",
    ),
    # The wrong cases use list[...] types: between plain classes (int into str) wf.add
    # itself refuses the edge (see tests/test_workflow.py), so gen never gets that far.
    Case(
        "generic_parameterized_wrong",
        "ints = wf.add(Ints())\nwf.add(Identity[list[str]](), after=ints)\n",
        expected=(
            (
                "edge__ints__identity",
                'incompatible type "TaskContext[None, None, list[int]]"; '
                'expected "TaskContext[Any, Any, list[str]]"',
            ),
        ),
    ),
    Case(
        "generic_subclassed_wrong",
        "ints = wf.add(Ints())\nwf.add(StrsIdentity(), after=ints)\n",
        tasks="class StrsIdentity(Identity[list[str]]):\n    pass\n",
        expected=(
            (
                "edge__ints__strs_identity",
                'incompatible type "TaskContext[None, None, list[int]]"; '
                'expected "TaskContext[Any, Any, list[str]]"',
            ),
        ),
    ),
    Case(
        "generic_in_input_only_wrong",
        'a = wf.add(Ints(), name="a")\nb = wf.add(Ints(), name="b")\n'
        "wf.add(Count[list[str]](), after=[a, b])\n",
        expected=(
            (
                "edge__a__count",
                'Coroutine[Any, Any, list[int]]]"; expected "Callable[..., Awaitable[list[str]]]"',
            ),
        ),
    ),
    Case(
        "generic_output_wrong_downstream",
        "ints = wf.add(Ints())\nident = wf.add(Identity[list[int]](), after=ints)\n"
        "wf.add(Twice(), after=ident)\n",
        expected=(
            (
                "edge__identity__twice",
                'incompatible type "TaskContext[None, None, list[int]]"; '
                'expected "TaskContext[None, None, int]"',
            ),
        ),
    ),
]

_FORMS = """\
from typing import TYPE_CHECKING, Annotated, Literal

from PKG.models import Energy, Mode, Vec

if TYPE_CHECKING:
    from PKG.hidden import Hidden
    from PKG.stubonly import StubOnly  # a stub-only module: this import fails at run time


class MakeVec(Task[TaskContext[None, None, None], Vec]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Vec:
        return [1.0]


class MakeRow(Task[TaskContext[None, None, None], tuple[int, *tuple[str, ...]]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> tuple[int, *tuple[str, ...]]:
        return (1, "a")


class MakeEnergy(Task[TaskContext[None, None, None], Annotated[Energy, "eV"]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Annotated[Energy, "eV"]:
        return Energy(1.0)


class MakeMode(Task[TaskContext[None, None, None], Mode]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Mode:
        return "fast"


class MakeHidden(Task[TaskContext[None, None, None], "Hidden"]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Hidden:
        raise NotImplementedError


class Takes(Task[TaskContext[None, None, T], None], Generic[T]):
    async def execute(self, ctx: TaskContext[None, None, T]) -> None:
        return None


class TakesHidden(Task[TaskContext[None, None, "Hidden"], None]):
    async def execute(self, ctx: TaskContext[None, None, Hidden]) -> None:
        return None


class MakeStubOnly(Task[TaskContext[None, None, None], "list[StubOnly]"]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[StubOnly]:
        raise NotImplementedError


class TakesStubOnly(Task[TaskContext[None, None, "list[StubOnly]"], None]):
    async def execute(self, ctx: TaskContext[None, None, list[StubOnly]]) -> None:
        return None
"""


def _forms(name: str, workflow: str, expected: tuple[tuple[str, str], ...] = ()) -> Case:
    return Case(name, workflow, tasks=_FORMS, expected=expected)


CASES += [
    # Item 6: type forms.
    _forms("form_type_alias_type", "v = wf.add(MakeVec())\nwf.add(Takes[Vec](), after=v)\n"),
    _forms(
        "form_type_alias_type_wrong",
        "v = wf.add(MakeVec())\nwf.add(Takes[list[str]](), after=v)\n",
        expected=(("edge__make_vec__takes", 'expected "TaskContext[None, None, list[str]]"'),),
    ),
    _forms(
        "form_unpacked_tuple",
        "r = wf.add(MakeRow())\nwf.add(Takes[tuple[int, *tuple[str, ...]]](), after=r)\n",
    ),
    _forms(
        "form_unpacked_tuple_wrong",
        "r = wf.add(MakeRow())\nwf.add(Takes[tuple[int, *tuple[int, ...]]](), after=r)\n",
        expected=(
            ("edge__make_row__takes", "TaskContext[None, None, tuple[int, *tuple[int, ...]]]"),
        ),
    ),
    _forms(
        "form_newtype_annotated_literal",
        "e = wf.add(MakeEnergy())\nwf.add(Takes[float](), after=e)\n"
        'm = wf.add(MakeMode())\nwf.add(Takes[Literal["fast", "slow"]](), after=m, name="mode")\n',
    ),
    _forms(
        "form_newtype_wrong",
        "e = wf.add(MakeEnergy())\nwf.add(Takes[int](), after=e)\n",
        expected=(("edge__make_energy__takes", 'expected "TaskContext[None, None, int]"'),),
    ),
    _forms(
        "form_literal_wrong",
        'm = wf.add(MakeMode())\nwf.add(Takes[Literal["slow"]](), after=m)\n',
        expected=(
            ("edge__make_mode__takes", "expected \"TaskContext[None, None, Literal['slow']]\""),
        ),
    ),
    _forms(
        "form_type_checking_only_name",
        "h = wf.add(MakeHidden())\nwf.add(TakesHidden(), after=h)\n",
    ),
    # Its import fails at run time (a stub-only module): written from the import's text.
    _forms(
        "form_type_checking_import_fails",
        "s = wf.add(MakeStubOnly())\nwf.add(TakesStubOnly(), after=s)\n",
    ),
    _forms(
        "form_type_checking_import_fails_wrong",
        "s = wf.add(MakeStubOnly())\nwf.add(TakesHidden(), after=s)\n",
        expected=(
            ("edge__make_stub_only__takes_hidden", 'expected "TaskContext[None, None, Hidden]"'),
        ),
    ),
]

_KEYED = """\
from typing_extensions import NotRequired, ReadOnly, TypedDict


class Base:
    pass


class Sub(Base):
    pass


class MakeBases(Task[TaskContext[None, None, None], list[Base]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[Base]:
        return [Base()]


class MakeSubs(Task[TaskContext[None, None, None], list[Sub]]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> list[Sub]:
        return [Sub()]


class Pair(TypedDict):
    first: ReadOnly[Sequence[Base]]
    second: ReadOnly[Sequence[Sub]]
    extra: NotRequired[ReadOnly[Sequence[Sub]]]


class TakesPair(Task[TaskContext[None, None, Pair], int]):
    async def execute(self, ctx: TaskContext[None, None, Pair]) -> int:
        return len(ctx.inputs["first"]) + len(ctx.inputs.get("extra", []))
"""

_SUBS = "bases = wf.add(MakeBases())\nsubs = wf.add(MakeSubs())\n"

CASES += [
    # Item 2: a task's own TypedDict, key by key (value types a checker must compare).
    Case(
        "typeddict_sub_into_base_and_optional_key_absent",
        _SUBS + 'wf.add(TakesPair(), after={"first": subs, "second": subs})\n',
        tasks=_KEYED,
    ),
    Case(
        "typeddict_optional_key_supplied",
        _SUBS + 'wf.add(TakesPair(), after={"first": bases, "second": subs, "extra": subs})\n',
        tasks=_KEYED,
    ),
    Case(
        "typeddict_base_into_sub_key",
        _SUBS + 'wf.add(TakesPair(), after={"first": bases, "second": bases})\n',
        tasks=_KEYED,
        expected=(
            ("edge__make_bases__takes_pair2", 'expected "Callable[..., Awaitable[Sequence[Sub]]]"'),
        ),
    ),
    Case(
        "typeddict_optional_key_supplied_wrong",
        _SUBS + 'wf.add(TakesPair(), after={"first": bases, "second": subs, "extra": bases})\n',
        tasks=_KEYED,
        expected=(
            ("edge__make_bases__takes_pair2", 'expected "Callable[..., Awaitable[Sequence[Sub]]]"'),
        ),
    ),
]

_STATES = """\
class State:
    pass


class Other:
    pass


class UsesState(Task[TaskContext[State, None, None], int]):
    async def execute(self, ctx: TaskContext[State, None, None]) -> int:
        return 1
"""

CASES += [
    # Item 7: state= and make_state= cannot silently make the state a union. mypy rejects
    # the make_state= argument in the workflow module itself; basedpyright infers
    # Workflow[State | Other, ...] there, which the generated workflow check refuses.
    Case(
        "state_and_make_state_agree",
        'del wf\nstudy = Workflow("s", state=State, make_state=lambda cfg: State())\n'
        "study.add(UsesState())\n",
        tasks=_STATES,
    ),
    Case(
        "state_and_make_state_disagree",
        'del wf\nstudy = Workflow("s", state=State, make_state=lambda cfg: Other())\n'
        "study.add(UsesState())\n",
        tasks=_STATES,
        mypy_workflow="State",  # make_state's argument and the lambda's return, both named
        pyright_expected=("workflow__s",),
    ),
]

_IMPORTED = (
    "Actor ActorContext Any AsyncIterator Generic Mapping Model Relaxed Sequence Structure "
    "Task TaskContext Workflow T U"
).split()


def _tasks_module(case: Case, package: str) -> str:
    """The shared tasks, the case's, and an ``__all__`` naming every class (the workflow
    star-imports them; listing the imports keeps strict checkers quiet about unused ones)."""
    text = HEADER + ("\n\n" + case.tasks if case.tasks else "")
    imported = [
        name.strip()
        for line in re.findall(r"^from (?!__future__)\S+ import (.+)$", text, flags=re.MULTILINE)
        for name in line.split(",")
    ]
    classes = re.findall(r"^class (\w+)", text, flags=re.MULTILINE)
    names = list(dict.fromkeys([*_IMPORTED, *imported, *classes]))
    return text.replace("PKG", package) + f"\n\n__all__ = {names!r}\n"


CASES += [
    # Item 7: a task after an actor receives its last yield, or None if it yielded nothing.
    Case(
        "after_an_actor_none_is_possible",
        "emit = wf.add(Emit())\nwf.add(Twice(), after=emit)\n",
        expected=(
            (
                "edge__emit__twice",
                'incompatible type "TaskContext[None, None, int | None]"; '
                'expected "TaskContext[None, None, int]"',
            ),
        ),
    ),
    Case(
        "after_an_actor_the_task_handles_none",
        "emit = wf.add(Emit())\nwf.add(TwiceOrZero(), after=emit)\n",
    ),
    Case(
        "after_an_actor_that_always_yields",
        "emit = wf.add(AlwaysEmit())\nwf.add(Twice(), after=emit)\n",
    ),
    Case(
        "after_an_actor_in_a_fan_in",
        "emit = wf.add(Emit())\none = wf.add(One())\nwf.add(Count[int](), after=[one, emit])\n",
        expected=(("edge__emit__count", 'incompatible type "int | None"; expected "int"'),),
    ),
]

_CHECK_DEF = re.compile(r"^    (?:async )?def (?P<name>(?:edge|fan_in|channel|workflow)__\w+)\(")


def _owner(generated: Path, line: int) -> str | None:
    owner = None
    for number, text in enumerate(generated.read_text().splitlines(), start=1):
        match = _CHECK_DEF.match(text)
        if match and number <= line:
            owner = match["name"]
    return owner


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from molexp_codegen.api import plan, write

    root = tmp_path_factory.mktemp("issue11")
    for case in CASES:
        package = f"s11_{case.name}"
        folder = root / package
        folder.mkdir()
        (folder / "__init__.py").write_text('"""A typing case."""\n')
        (folder / "models.py").write_text(MODELS)
        (folder / "hidden.py").write_text(HIDDEN)
        (folder / "stubonly.pyi").write_text(STUB_ONLY)
        (folder / "tasks.py").write_text(_tasks_module(case, package))
        (folder / "workflow.py").write_text(WORKFLOW_HEADER.replace("PKG", package) + case.workflow)
        write(plan(str(folder / "workflow.py")))
    return root


def _by_case(root: Path, errors: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    grouped: dict[str, list[Diagnostic]] = {}
    for error in errors:
        grouped.setdefault(error.file.relative_to(root).parts[0][len("s11_") :], []).append(error)
    return grouped


@pytest.fixture(scope="module")
def mypy_errors(corpus: Path) -> dict[str, list[Diagnostic]]:
    packages = sorted(p for p in corpus.iterdir() if p.name.startswith("s11_"))
    return _by_case(corpus, run_mypy(packages, cwd=corpus))


@pytest.fixture(scope="module")
def pyright_errors(corpus: Path) -> dict[str, list[Diagnostic]]:
    packages = sorted(p for p in corpus.iterdir() if p.name.startswith("s11_"))
    return _by_case(corpus, run_pyright(packages, cwd=corpus, extra_paths=[corpus]))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_mypy(corpus: Path, mypy_errors: dict[str, list[Diagnostic]], case: Case) -> None:
    errors = mypy_errors.get(case.name, [])
    generated = (corpus / f"s11_{case.name}" / "workflow_edges.py").resolve()
    if case.mypy_workflow is not None:
        user = [e for e in errors if e.file.name == "workflow.py"]
        assert user and all(case.mypy_workflow in e.message for e in user), errors
        errors = [e for e in errors if e not in user]
    found = sorted((_owner(generated, e.line) or str(e.file), e.message) for e in errors)
    assert all(e.file == generated for e in errors), found
    assert len(found) == len(case.expected), found
    for (owner, message), (want, fragment) in zip(found, sorted(case.expected), strict=True):
        assert owner == want, found
        assert fragment in message, (message, fragment)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_basedpyright(
    corpus: Path, pyright_errors: dict[str, list[Diagnostic]], case: Case
) -> None:
    errors = pyright_errors.get(case.name, [])
    generated = (corpus / f"s11_{case.name}" / "workflow_edges.py").resolve()
    user = [e for e in errors if e.file.name == "workflow.py"]
    if case.pyright_workflow is not None:
        assert user and all(case.pyright_workflow in e.message for e in user), errors
        errors = [e for e in errors if e not in user]
    assert all(e.file == generated for e in errors), errors
    owners = sorted(_owner(generated, e.line) or "?" for e in errors)
    if case.pyright_expected is not None:
        assert owners == sorted(case.pyright_expected), errors
    else:
        assert owners == sorted(owner for owner, _ in case.expected), errors


def test_a_generic_task_the_graph_cannot_solve_is_a_gen_error(tmp_path: Path) -> None:
    from codegen_helpers import molexp

    package = tmp_path / "s11_unsolved"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS)
    load = (
        "class Load(Task[TaskContext[None, None, None], T]):\n"
        "    async def execute(self, ctx: TaskContext[None, None, None]) -> T:\n"
        "        raise NotImplementedError\n"
    )
    (package / "tasks.py").write_text(_tasks_module(Case("unsolved", "", load), "s11_unsolved"))
    (package / "workflow.py").write_text(
        WORKFLOW_HEADER.replace("PKG", "s11_unsolved") + "wf.add(Load())\n"
    )
    proc = molexp("gen", "s11_unsolved/workflow.py", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = proc.stderr.strip()
    assert "task 'load' (Load)" in message, message
    assert "generic task class Load is used without type arguments" in message, message
    assert "T cannot be solved from the graph" in message, message
    assert "Load[X]()" in message, message


def test_molexp_check_prints_the_edge_in_words(corpus: Path, tmp_path: Path) -> None:
    """Under each mypy error in a check, the edge: upstream, key, downstream, both types."""
    import shutil

    from codegen_helpers import molexp

    case = "typeddict_base_into_sub_key"
    shutil.copytree(
        corpus / f"s11_{case}",
        tmp_path / f"s11_{case}",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    proc = molexp(
        "check",
        f"s11_{case}/workflow.py",
        "--mypy-arg=--strict",
        f"--mypy-arg=--cache-dir={tmp_path / 'cache'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "[in edge__make_bases__takes_pair2]\n    edge: 'make_bases' (MakeBases) gives "
        "list[Base] -> takes_pair['second'] of task 'takes_pair' (TakesPair), which takes "
        "Sequence[Sub]"
    ) in proc.stdout, proc.stdout
