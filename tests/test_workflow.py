"""Declaring workflows: names, edges, shapes and the errors for bad declarations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, Protocol, TypeVar

import pytest
from typing_extensions import TypedDict

from molexp import Task, TaskContext, Workflow, WorkflowDefinitionError
from molexp.workflow.introspect import declared_context_type, declared_output_type, type_label


class Prepare(Task[TaskContext[None, None, None], int]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        return 1


class TrainModel(Task[TaskContext[None, None, int], list[float]]):
    async def execute(self, ctx: TaskContext[None, None, int]) -> list[float]:
        return [float(ctx.inputs)]


class Untyped(Task):
    async def execute(self, ctx: TaskContext) -> dict:  # type: ignore[type-arg]
        return {}


def test_node_ids_default_to_snake_case_class_name() -> None:
    wf = Workflow("w")
    assert wf.add(Prepare()).id == "prepare"
    assert wf.add(TrainModel(), after=wf.node("prepare")).id == "train_model"
    assert [n.id for n in wf.nodes] == ["prepare", "train_model"]


def test_shapes_follow_the_form_of_after() -> None:
    wf = Workflow("w")
    a = wf.add(Prepare(), name="a")
    b = wf.add(Prepare(), name="b")
    single = wf.add(TrainModel(), after=a, name="single")
    listed = wf.add(Untyped(), after=[a, b], name="listed")
    keyed = wf.add(Untyped(), after={"left": a, "right": b}, name="keyed")
    assert (a.input_shape, single.input_shape) == ("root", "single")
    assert dict(single.upstream) == {"a": a}
    assert listed.input_shape == "fan_in" and list(listed.upstream) == ["a", "b"]
    assert keyed.input_shape == "fan_in" and dict(keyed.upstream) == {"left": a, "right": b}
    assert wf.downstream(a) == (single, listed, keyed)


def test_duplicate_name_names_the_task_and_class() -> None:
    wf = Workflow("pipeline")
    wf.add(Prepare())
    with pytest.raises(
        WorkflowDefinitionError, match=r"'pipeline'.*duplicate task name 'prepare'.*class Prepare"
    ):
        wf.add(Prepare())
    assert len(wf) == 1  # nothing half-added


@pytest.mark.parametrize("bad", ["two words", "1st", "", "a-b"])
def test_invalid_names_are_rejected(bad: str) -> None:
    with pytest.raises(WorkflowDefinitionError, match="not a valid Python identifier"):
        Workflow("w").add(Prepare(), name=bad)


def test_keyword_names_are_allowed() -> None:
    assert Workflow("w").add(Prepare(), name="lambda").id == "lambda"


def test_foreign_and_unknown_nodes_are_rejected() -> None:
    other = Workflow("other")
    foreign = other.add(Prepare())
    wf = Workflow("mine")
    with pytest.raises(
        WorkflowDefinitionError, match="'prepare' belongs to workflow 'other', not to 'mine'"
    ):
        wf.add(TrainModel(), after=foreign)
    with pytest.raises(WorkflowDefinitionError, match="key 'x'.*belongs to workflow 'other'"):
        wf.add(Untyped(), after={"x": foreign})
    with pytest.raises(WorkflowDefinitionError, match="is a string; pass the Node"):
        wf.add(TrainModel(), after="prepare")  # type: ignore[arg-type]
    with pytest.raises(WorkflowDefinitionError, match="not a Node"):
        wf.add(TrainModel(), after=[42])  # type: ignore[list-item]
    assert len(wf) == 0


def test_empty_and_duplicate_fan_in_are_rejected() -> None:
    wf = Workflow("w")
    a = wf.add(Prepare())
    with pytest.raises(
        WorkflowDefinitionError, match=r"task 'untyped': after=\{\} is an empty fan-in"
    ):
        wf.add(Untyped(), after={})
    with pytest.raises(WorkflowDefinitionError, match=r"after=\[\] is an empty fan-in"):
        wf.add(Untyped(), after=[])
    with pytest.raises(WorkflowDefinitionError, match="upstream 'prepare' is listed twice"):
        wf.add(Untyped(), after=[a, a])
    with pytest.raises(WorkflowDefinitionError, match="fan-in key 'not ok'"):
        wf.add(Untyped(), after={"not ok": a})


def test_non_tasks_and_sync_execute_are_rejected() -> None:
    class Sync(Task[Any, int]):
        def execute(self, ctx: Any) -> int:  # type: ignore[override]
            return 1

    wf = Workflow("w")
    with pytest.raises(WorkflowDefinitionError, match="is not a molexp Task"):
        wf.add(object(), name="thing")  # type: ignore[arg-type]
    with pytest.raises(
        WorkflowDefinitionError, match=r"task 'sync': Sync.execute must be declared 'async def'"
    ):
        wf.add(Sync())


def test_a_graph_cannot_hold_a_cycle() -> None:
    # `after` only accepts nodes already added, so a cycle cannot be declared; the order
    # in which tasks were added is a topological order.
    wf = Workflow("w")
    a = wf.add(Prepare())
    b = wf.add(TrainModel(), after=a)
    assert all(up.index < node.index for node in (a, b) for up in node.upstream.values())


def test_unknown_node_lookup_lists_known_tasks() -> None:
    wf = Workflow("w")
    wf.add(Prepare())
    with pytest.raises(KeyError, match="has no task 'nope' \\(tasks: prepare\\)"):
        wf.node("nope")


def test_declared_types_are_introspected() -> None:
    assert declared_output_type(TrainModel()) == list[float]
    assert declared_context_type(TrainModel()) == TaskContext[None, None, int]
    assert declared_output_type(Untyped()) is dict
    assert declared_context_type(Untyped()) is TaskContext
    assert type_label(list[float]) == "list[float]"


def test_mermaid_labels_fan_in_keys_and_types() -> None:
    wf = Workflow("w")
    a = wf.add(Prepare())
    t = wf.add(TrainModel(), after=a)
    wf.add(Untyped(), after={"model": t, "count": a})
    assert wf.to_mermaid(show_types=True) == (
        "flowchart TD\n"
        '    prepare["prepare<br/>Prepare"]\n'
        '    train_model["train_model<br/>TrainModel"]\n'
        '    untyped["untyped<br/>Untyped"]\n'
        "    prepare -->|int| train_model\n"
        "    train_model -->|model: list[float]| untyped\n"
        "    prepare -->|count: int| untyped\n"
    )


def test_mermaid_escapes_union_pipes() -> None:
    class Either(Task[TaskContext[None, None, None], int | str]):
        async def execute(self, ctx: TaskContext[None, None, None]) -> int | str:
            return 1

    wf = Workflow("w")
    e = wf.add(Either())
    wf.add(Untyped(), after=e)
    assert "either -->|int #124; str| untyped" in wf.to_mermaid(show_types=True)


def test_a_class_instead_of_an_instance_says_so() -> None:
    with pytest.raises(
        WorkflowDefinitionError,
        match=r"got the class Prepare; pass an instance: wf.add\(Prepare\(\)\)",
    ):
        Workflow("w").add(Prepare)  # type: ignore[arg-type]


def test_loader_names_the_file_and_line_that_raised(tmp_path: Any) -> None:
    from molexp.workflow.errors import WorkflowLoadError
    from molexp.workflow.loader import load_workflow

    pkg = tmp_path / "brokenpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tasks.py").write_text("x = 1\ny = undefined_name\n")
    (pkg / "flow.py").write_text("from . import tasks\n")
    with pytest.raises(
        WorkflowLoadError,
        match=r"flow.py: importing brokenpkg.flow failed: NameError: .* \(raised at .*brokenpkg/tasks.py:2\)",
    ):
        load_workflow(str(pkg / "flow.py"))


# --- Edges between plain classes are checked when the graph is built (no codegen) ---


class Relaxed:
    pass


class Summary:
    pass


class Base:
    pass


class Sub(Base):
    pass


class MakeRelaxed(Task[TaskContext[None, None, None], Relaxed]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Relaxed:
        return Relaxed()


class MakeSub(Task[TaskContext[None, None, None], Sub]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Sub:
        return Sub()


class MakeBase(Task[TaskContext[None, None, None], Base]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> Base:
        return Base()


class Summarize(Task[TaskContext[None, None, Summary], int]):
    async def execute(self, ctx: TaskContext[None, None, Summary]) -> int:
        return 0


class TakesBase(Task[TaskContext[None, None, Base], int]):
    async def execute(self, ctx: TaskContext[None, None, Base]) -> int:
        return 0


class TakesSub(Task[TaskContext[None, None, Sub], int]):
    async def execute(self, ctx: TaskContext[None, None, Sub]) -> int:
        return 0


class TakesFloat(Task[TaskContext[None, None, float], int]):
    async def execute(self, ctx: TaskContext[None, None, float]) -> int:
        return 0


class SummarizeAll(Task[TaskContext[None, None, Sequence[Summary]], int]):
    async def execute(self, ctx: TaskContext[None, None, Sequence[Summary]]) -> int:
        return len(ctx.inputs)


class TakesAny(Task[TaskContext[None, None, Any], int]):
    async def execute(self, ctx: TaskContext[None, None, Any]) -> int:
        return 0


class HasEnergy(Protocol):
    energy: float


class TakesProtocol(Task[TaskContext[None, None, HasEnergy], int]):
    async def execute(self, ctx: TaskContext[None, None, HasEnergy]) -> int:
        return 0


class Pair(TypedDict):
    base: Base
    sub: NotRequired[Sub]


class TakesPair(Task[TaskContext[None, None, Pair], int]):
    async def execute(self, ctx: TaskContext[None, None, Pair]) -> int:
        return 0


def test_a_single_edge_between_plain_classes_that_cannot_fit_is_refused_at_add() -> None:
    wf = Workflow("scan")
    relaxed = wf.add(MakeRelaxed(), name="relax")
    with pytest.raises(WorkflowDefinitionError) as err:
        wf.add(Summarize(), after=relaxed, name="summary")
    assert str(err.value) == (
        "workflow 'scan', edge relax -> summary: MakeRelaxed returns Relaxed, which does not "
        "fit the input Summary that Summarize declares"
    )
    assert [n.id for n in wf.nodes] == ["relax"]  # nothing was added


_P = TypeVar("_P")


class Produce(Task[TaskContext[None, None, None], _P]):
    async def execute(self, ctx: TaskContext[None, None, None]) -> _P:
        raise NotImplementedError


def test_edge_checks_tell_parameterizations_of_one_generic_class_apart() -> None:
    # The declared types are remembered per class *and* parameterization: a memo keyed on
    # the class alone would let the first verdict (Base fits) hide the second.
    wf = Workflow("generic-scan")
    for i in range(3):
        wf.add(TakesBase(), after=wf.add(Produce[Sub](), name=f"sub{i}"), name=f"ok{i}")
    relaxed = wf.add(Produce[Relaxed](), name="relaxed")
    with pytest.raises(
        WorkflowDefinitionError, match="Produce returns Relaxed, which does not fit"
    ):
        wf.add(TakesBase(), after=relaxed, name="bad")
    with pytest.raises(WorkflowDefinitionError, match="returns Relaxed, which does not fit"):
        wf.add(TakesBase(), after=relaxed, name="bad_again")  # remembered misfits still fail


def test_fan_in_edges_are_checked_per_key_and_per_element() -> None:
    wf = Workflow("fan")
    base = wf.add(MakeBase())
    sub = wf.add(MakeSub())
    relaxed = wf.add(MakeRelaxed())
    wf.add(TakesPair(), after={"base": sub, "sub": sub}, name="ok")  # Sub into Base: fine
    with pytest.raises(WorkflowDefinitionError, match=r"edge make_base -> bad\['sub'\]: "):
        wf.add(TakesPair(), after={"base": base, "sub": base}, name="bad")  # Base into Sub
    other = wf.add(MakeRelaxed(), name="other")
    with pytest.raises(WorkflowDefinitionError) as err:
        wf.add(SummarizeAll(), after=[relaxed, other], name="all")
    assert "edge make_relaxed -> all['make_relaxed']" in str(err.value)
    assert "(and 1 more)" in str(err.value)
    assert "returns Relaxed, which does not fit the input Summary" in str(err.value)


def test_undecidable_or_fitting_edges_are_left_to_the_checkers() -> None:
    wf = Workflow("fine")
    prepare = wf.add(Prepare())  # int
    wf.add(TakesFloat(), after=prepare)  # int fits float (numeric promotion)
    wf.add(TakesBase(), after=wf.add(MakeSub()))  # a subclass fits
    relaxed = wf.add(MakeRelaxed())
    wf.add(TakesProtocol(), after=relaxed)  # a Protocol: only a checker can tell
    wf.add(Identity[Relaxed](), after=relaxed)
    wf.add(Untyped(), after=relaxed)  # declares nothing
    wf.add(TakesAny(), after=relaxed)  # Any (a class on Python >= 3.11) takes anything
    with pytest.raises(WorkflowDefinitionError, match="MakeBase returns Base, which does not"):
        wf.add(TakesSub(), after=wf.add(MakeBase()))  # but a base class does not


T = TypeVar("T")


class Identity(Task[TaskContext[None, None, T], T]):
    async def execute(self, ctx: TaskContext[None, None, T]) -> T:
        return ctx.inputs
