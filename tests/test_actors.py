"""Actors: streaming tasks wired by typed, bounded channels."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from molexp import (
    Actor,
    ActorContext,
    ChannelClosed,
    Task,
    TaskContext,
    Workflow,
    WorkflowDefinitionError,
    WorkflowRuntime,
)


class Params(Task):
    async def execute(self, ctx: TaskContext) -> int:
        return 5


class Sampler(Actor):
    """Sends `count` frames (the ctx.inputs if given) tagged with its task id."""

    def __init__(self, count: int | None = None) -> None:
        self.count = count

    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        count = self.count if self.count is not None else ctx.inputs
        for i in range(count):
            await ctx.send((ctx.task_id, i))
            if i % 1000 == 0:
                yield i
        yield count


class Relay(Actor):
    """The seed's loop: `while True: await ctx.receive()` ends cleanly at end of stream."""

    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        seen = 0
        while True:
            msg = await ctx.receive()
            seen += 1
            await ctx.send(msg)
            yield seen


class Collect(Actor):
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        async for msg in ctx.messages():
            self.received.append(msg)
        yield len(self.received)


class Summarise(Task):
    async def execute(self, ctx: TaskContext) -> Any:
        return ctx.inputs


def execute(wf: Workflow[Any, Any, Any], **kwargs: Any) -> Any:
    return asyncio.run(WorkflowRuntime().execute(wf, **kwargs))


def test_pipeline_with_tasks_before_and_after() -> None:
    wf = Workflow("stream")
    params = wf.add(Params())
    sampler = wf.add(Sampler(), after=params)
    relay = wf.add(Relay(), after=sampler)
    collect_actor = Collect()
    collect = wf.add(collect_actor, after=relay, name="collect")
    summary = wf.add(Summarise(), after={"n": collect, "p": params})
    result = execute(wf)
    result.raise_for_status()
    assert collect_actor.received == [("sampler", i) for i in range(5)]
    assert result.output(sampler) == 5  # last yield
    assert result.output(summary) == {"n": 5, "p": 5}
    assert result.yields == {"sampler": 2, "relay": 5, "collect": 1}
    assert result.sent == {"sampler": 5, "relay": 5, "collect": 0}


def test_hundred_thousand_messages_keep_count_and_order_per_producer() -> None:
    wf = Workflow("big")
    a = wf.add(Sampler(50_000), name="a")
    b = wf.add(Sampler(50_000), name="b")
    relay = wf.add(Relay(), after=[a, b])
    collector = Collect()
    wf.add(collector, after=relay)
    result = execute(wf, channel_capacity=256)
    result.raise_for_status()
    assert len(collector.received) == 100_000
    for producer in ("a", "b"):
        assert [i for p, i in collector.received if p == producer] == list(range(50_000))
    assert result.sent["relay"] == 100_000


def test_backpressure_bounds_the_producer_lead() -> None:
    produced = 0
    max_lead = 0

    class Fast(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:
            nonlocal produced
            for i in range(200):
                await ctx.send(i)
                produced += 1
            yield None

    class Slow(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
            nonlocal max_lead
            consumed = 0
            async for _ in ctx.messages():
                consumed += 1
                max_lead = max(max_lead, produced - consumed)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
            yield consumed

    wf = Workflow("bp")
    fast = wf.add(Fast())
    slow = wf.add(Slow(), after=fast)
    result = asyncio.run(WorkflowRuntime(channel_capacity=8).execute(wf))
    assert result.output(slow) == 200
    assert max_lead <= 8 + 1, f"producer ran {max_lead} messages ahead of an 8-slot channel"


def test_actor_failure_fails_the_run_and_cancels_the_others() -> None:
    class Breaks(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:
            await ctx.receive()
            raise RuntimeError("bad frame")
            yield None  # pragma: no cover

    wf = Workflow("fail")
    producer = wf.add(Sampler(10**9), name="endless")  # blocks on the full channel
    wf.add(Breaks(), after=producer)
    result = execute(wf, channel_capacity=4)
    assert result.status == "failed" and result.failure.task_id == "breaks"
    assert "bad frame" in str(result.failure)
    # The producer is cancelled, or ends on its next send (its only consumer is gone).
    assert "endless" in result.cancelled or "endless" in result.outputs


def test_cancelling_the_run_stops_every_actor() -> None:
    stopped: list[str] = []

    class Forever(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:
            try:
                while True:
                    await ctx.send(1)
                    await asyncio.sleep(0)
            finally:
                stopped.append(ctx.task_id or "")
            yield None  # pragma: no cover

    class Drain(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:
            try:
                async for _ in ctx.messages():
                    pass
            finally:
                stopped.append(ctx.task_id or "")
            yield None

    wf = Workflow("cancel")
    forever = wf.add(Forever())
    wf.add(Drain(), after=forever)

    async def main() -> None:
        pending = asyncio.create_task(WorkflowRuntime().execute(wf))
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    asyncio.run(main())
    assert sorted(stopped) == ["drain", "forever"]


def test_consumer_stopping_early_does_not_block_the_producer() -> None:
    class TakeThree(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[list[Any]]:
            yield [await ctx.receive() for _ in range(3)]

    wf = Workflow("early")
    producer = wf.add(Sampler(1000))
    take = wf.add(TakeThree(), after=producer)
    result = execute(wf, channel_capacity=2)
    assert result.ok
    assert result.output(take) == [("sampler", 0), ("sampler", 1), ("sampler", 2)]


def test_root_actor_receive_is_end_of_stream() -> None:
    class Lonely(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[str]:
            yield "started"
            await ctx.receive()
            yield "unreachable"

    wf = Workflow("root")
    node = wf.add(Lonely())
    result = execute(wf)
    assert result.ok and result.output(node) == "started" and result.yields == {"lonely": 1}


def test_unconnected_context_raises_not_implemented() -> None:
    ctx: ActorContext = ActorContext(state=None, deps=None, inputs=None, task_id="x")

    async def use() -> None:
        with pytest.raises(
            NotImplementedError,
            match="receive\\(\\) needs channels connected by the workflow runtime",
        ):
            await ctx.receive()
        with pytest.raises(NotImplementedError, match="send\\(\\)"):
            await ctx.send(1)

    asyncio.run(use())


def test_channel_closed_is_importable_and_an_exception() -> None:
    assert issubclass(ChannelClosed, Exception)


def test_actor_inputs_come_from_task_upstreams_only() -> None:
    seen: list[Any] = []

    class Look(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:
            seen.append(ctx.inputs)
            async for _ in ctx.messages():
                pass
            yield None

    wf = Workflow("inputs", input=str)
    params = wf.add(Params())
    sampler = wf.add(Sampler(1))
    only_actor = wf.add(Look(), after=sampler, name="only_actor")
    mixed = wf.add(Look(), after={"frames": sampler, "params": params}, name="mixed")
    assert only_actor.input_shape == "root" and mixed.input_shape == "fan_in"
    assert dict(mixed.channel_upstream) == {"frames": sampler}
    assert dict(mixed.input_upstream) == {"params": params}
    execute(wf, inputs="wf-input").raise_for_status()
    assert sorted(map(repr, seen)) == sorted(map(repr, ["wf-input", {"params": 5}]))


def test_waiting_on_own_producer_is_rejected() -> None:
    wf = Workflow("deadlock")
    sampler = wf.add(Sampler(10))
    summary = wf.add(Summarise(), after=sampler)
    with pytest.raises(
        WorkflowDefinitionError,
        match="actor 'collect'.*receives from actor 'sampler' but also waits for 'summarise'",
    ):
        wf.add(Collect(), after=[sampler, summary], name="collect")


def test_run_must_be_an_async_generator() -> None:
    class NotGen(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[None]:  # type: ignore[override]
            return None  # type: ignore[return-value]

    with pytest.raises(WorkflowDefinitionError, match="NotGen.run must be an async generator"):
        Workflow("w").add(NotGen())


def test_broadcast_keeps_feeding_the_consumer_still_reading() -> None:
    class TakeOne(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[Any]:
            yield await ctx.receive()

    wf = Workflow("broadcast")
    producer = wf.add(Sampler(500))
    wf.add(TakeOne(), after=producer)
    collector = Collect()
    wf.add(collector, after=producer)
    result = execute(wf, channel_capacity=4)
    assert result.ok and len(collector.received) == 500 and result.sent["sampler"] == 500


def test_sent_messages_can_be_recorded_to_a_log_asset_under_a_run(tmp_path: Any) -> None:
    from molexp import Workspace

    class Frames(Actor):
        record_messages = "frames"

        async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
            for step in range(5):
                await ctx.send({"step": step, "energy": -1.0 * step})
            yield 5

    wf = Workflow("recorded")
    frames = wf.add(Frames())
    wf.add(Collect(), after=frames)
    run = Workspace(tmp_path).project("p").experiment("e").add_run()

    async def main() -> None:
        async with run.start() as rc:
            (await WorkflowRuntime().execute(wf, run_context=rc)).raise_for_status()

    asyncio.run(main())
    [log] = run.assets("log")
    assert log.name == "frames" and log.producer is not None and log.producer.task_id == "frames"
    lines = log.path.read_text().splitlines()
    assert lines == [f'{{"step":{i},"energy":{-1.0 * i}}}' for i in range(5)]
    assert execute(wf).ok  # without a run nothing is recorded and nothing fails


def test_actors_do_not_count_against_max_concurrency() -> None:
    class Sum(Actor):
        async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
            total = 0
            async for _, value in ctx.messages():
                total += value
            yield total

    wf = Workflow("bounded")
    params = wf.add(Params())
    sampler = wf.add(Sampler(), after=params)
    total = wf.add(Sum(), after=sampler)
    after = wf.add(Summarise(), after=total)

    async def main() -> Any:
        runtime = WorkflowRuntime(max_concurrency=1, channel_capacity=2)
        return await asyncio.wait_for(runtime.execute(wf), timeout=10)

    result = asyncio.run(main())
    assert result.ok and result.output(after) == 10  # 0 + 1 + 2 + 3 + 4


def test_the_same_producer_twice_is_rejected() -> None:
    wf = Workflow("twice")
    sampler = wf.add(Sampler(3))
    with pytest.raises(WorkflowDefinitionError, match="actor 'sampler' is listed twice"):
        wf.add(Collect(), after={"x": sampler, "y": sampler})


def test_mermaid_draws_channels_dotted_with_the_message_type() -> None:
    from molexp.workflow.introspect import message_label

    class Typed(Actor[ActorContext[None, None, None, None, float], int]):
        async def run(self, ctx: ActorContext[None, None, None, None, float]) -> AsyncIterator[int]:
            yield 1

    wf = Workflow("m")
    typed = wf.add(Typed())
    wf.add(Collect(), after=typed)
    assert message_label(typed) == "float"
    assert "typed -.->|float| collect" in wf.to_mermaid(show_types=True)


class MaybeYields(Actor):
    """Yields once per message it receives: nothing when nothing is sent."""

    always_yields = True

    async def run(self, ctx: ActorContext) -> AsyncIterator[int]:
        async for message in ctx.messages():
            yield message


class AfterMaybe(Task):
    async def execute(self, ctx: TaskContext) -> str:
        return f"got {ctx.inputs!r}"


def test_an_actor_declaring_always_yields_that_yields_nothing_fails_naming_it() -> None:
    wf = Workflow("silent")
    quiet = wf.add(MaybeYields(), name="quiet")
    wf.add(AfterMaybe(), after=quiet, name="after")
    result = asyncio.run(WorkflowRuntime().execute(wf))
    assert result.status == "failed" and result.failure is not None
    assert result.failure.task_id == "quiet"
    message = str(result.failure)
    assert "ActorYieldError" in message and "actor 'quiet' (MaybeYields)" in message
    assert "declares always_yields = True but finished without yielding" in message
    assert "after" not in result.outputs  # the task after it never ran with a None


def test_an_actor_without_always_yields_may_yield_nothing() -> None:
    class Quiet(MaybeYields):
        always_yields = False

    wf = Workflow("quiet")
    quiet = wf.add(Quiet(), name="quiet")
    after = wf.add(AfterMaybe(), after=quiet, name="after")
    result = asyncio.run(WorkflowRuntime().execute(wf))
    result.raise_for_status()
    assert result.output(after) == "got None"
    assert result.yields == {"quiet": 0}


def test_removing_always_yields_after_gen_makes_the_generated_module_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contexts after an always-yielding actor were generated as receiving ``Y`` (not
    ``Y | None``): removing the declaration after ``molexp gen`` is refused at run time."""
    from molexp.workflow import fingerprint

    def build() -> Workflow[Any, Any, Any]:
        wf = Workflow("yields")
        quiet = wf.add(MaybeYields(), name="quiet")
        wf.add(AfterMaybe(), after=quiet, name="after")
        return wf

    generated = fingerprint.wiring_fingerprint(build())  # what `molexp gen` recorded
    monkeypatch.setattr(fingerprint, "_REGISTRY", {})
    fingerprint.register_generated("gen_contexts", __name__, {"yields": generated})
    fingerprint.check_fresh(build())  # unchanged: fresh

    monkeypatch.setattr(MaybeYields, "always_yields", False)  # the declaration removed
    with pytest.raises(fingerprint.StaleGeneratedModuleError, match="gen_contexts is stale"):
        fingerprint.check_fresh(build())
    monkeypatch.setattr(MaybeYields, "always_yields", True)
    fingerprint.check_fresh(build())
