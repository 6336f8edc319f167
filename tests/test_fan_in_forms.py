"""Homogeneous fan-in: the shape of ``ctx.inputs`` follows the input the task declares.

``Sequence[T]``/``list[T]`` -> a list, ``tuple[T, ...]`` -> a tuple, ``Mapping[str, T]``/
``dict[str, T]`` (and anything else) -> a ``{key: value}`` mapping; values always in
``after=`` order. Names are deliberately not alphabetical and every value is distinct, so
a sorted or reversed order cannot pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from molexp import Task, TaskContext, Workflow, WorkflowDefinitionError, WorkflowRuntime


class Value(Task[TaskContext[None, None, None], int]):
    def __init__(self, value: int) -> None:
        self.value = value

    async def execute(self, ctx: TaskContext[None, None, None]) -> int:
        return self.value


class Seen(Task[TaskContext[None, None, Any], object]):
    """Returns exactly what it received."""

    async def execute(self, ctx: TaskContext[None, None, Any]) -> object:
        return ctx.inputs


class AsSequence(Task[TaskContext[None, None, Sequence[int]], object]):
    async def execute(self, ctx: TaskContext[None, None, Sequence[int]]) -> object:
        return ctx.inputs


class AsList(Task[TaskContext[None, None, list[int]], object]):
    async def execute(self, ctx: TaskContext[None, None, list[int]]) -> object:
        return ctx.inputs


class AsTuple(Task[TaskContext[None, None, tuple[int, ...]], object]):
    async def execute(self, ctx: TaskContext[None, None, tuple[int, ...]]) -> object:
        return ctx.inputs


class AsMapping(Task[TaskContext[None, None, Mapping[str, int]], object]):
    async def execute(self, ctx: TaskContext[None, None, Mapping[str, int]]) -> object:
        return ctx.inputs


class AsDict(Task[TaskContext[None, None, dict[str, int]], object]):
    async def execute(self, ctx: TaskContext[None, None, dict[str, int]]) -> object:
        return ctx.inputs


def _three(wf: Workflow[Any, Any, Any]) -> list[Any]:
    # Added in this order, listed in after= in another, none alphabetical.
    return [wf.add(Value(v), name=n) for n, v in (("zeta", 30), ("alpha", 10), ("mid", 20))]


def _run(wf: Workflow[Any, Any, Any]) -> Any:
    result = asyncio.run(WorkflowRuntime().execute(wf))
    result.raise_for_status()
    return result


@pytest.mark.parametrize(
    ("task", "expected"),
    [(AsSequence(), [20, 30, 10]), (AsList(), [20, 30, 10]), (AsTuple(), (20, 30, 10))],
    ids=["Sequence", "list", "tuple"],
)
def test_list_forms_keep_after_order(task: Task[Any, Any], expected: object) -> None:
    wf = Workflow("list-form")
    zeta, alpha, mid = _three(wf)
    node = wf.add(task, after=[mid, zeta, alpha], name="sink")
    got = _run(wf).output(node)
    assert type(got) is type(expected)
    assert got == expected
    assert node.fan_in_form == ("tuple" if isinstance(expected, tuple) else "list")


@pytest.mark.parametrize("task", [AsMapping(), AsDict(), Seen()], ids=["Mapping", "dict", "Any"])
def test_keyed_forms_keep_after_order(task: Task[Any, Any]) -> None:
    wf = Workflow("keyed-form")
    zeta, alpha, mid = _three(wf)
    keyed = wf.add(task, after={"m": mid, "z": zeta, "a": alpha}, name="keyed")
    by_ids = wf.add(type(task)(), after=[mid, alpha, zeta], name="by_ids")
    result = _run(wf)
    assert list(result.output(keyed).items()) == [("m", 20), ("z", 30), ("a", 10)]
    assert list(result.output(by_ids).items()) == [("mid", 20), ("alpha", 10), ("zeta", 30)]


def test_a_list_form_refuses_a_keyed_after() -> None:
    wf = Workflow("refused")
    zeta, alpha, _ = _three(wf)
    with pytest.raises(WorkflowDefinitionError) as err:
        wf.add(AsSequence(), after={"z": zeta, "a": alpha}, name="sink")
    message = str(err.value)
    assert "task 'sink'" in message and "Sequence[int]" in message and "after=[...]" in message


def test_a_single_upstream_is_the_value_itself_whatever_the_declared_input() -> None:
    wf = Workflow("single")
    zeta, _, _ = _three(wf)
    node = wf.add(Seen(), after=zeta, name="sink")
    assert _run(wf).output(node) == 30
