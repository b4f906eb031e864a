"""BatchProcessor outcomes, failure ids and settling against the in-memory queue."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filegate.adapters.memory import MemoryQueue
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable, PoisonMessage
from filegate.domain.messages import encode_object_created
from filegate.domain.models import FailureReason, Message, ObjectCreated, VisibilityChange
from filegate.worker.batch import BatchProcessor, BatchResult, Dead, Retry, Succeeded
from filegate.worker.retry import RetryPolicy
from filegate.worker.settlement import settle

POLICY = RetryPolicy(base=timedelta(seconds=10), cap=timedelta(seconds=100))
HALF = 0.5

FAILURES: dict[str, type[Exception]] = {
    "transient": BackendUnavailable,
    "poison": PoisonMessage,
    "crash": RuntimeError,
}


class ScriptedHandler:
    """An EventHandler that succeeds, except for keys scripted to raise an exception."""

    def __init__(self, script: dict[str, type[Exception]] | None = None) -> None:
        self.script = script or {}
        self.handled: list[str] = []

    async def handle(self, event: ObjectCreated) -> None:
        self.handled.append(event.key)
        failure = self.script.get(event.key)
        if failure is not None:
            raise failure(f"scripted failure for {event.key}")


def body_for(*keys: str) -> str:
    """Filegate's envelope for one key, an S3 notification with one record per key else."""
    if len(keys) == 1:
        return encode_object_created(ObjectCreated(keys[0], 1, "etag"))
    records = [
        {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"object": {"key": key, "size": 1, "eTag": "etag"}},
        }
        for key in keys
    ]
    return json.dumps({"Records": records})


def message(message_id: str, *keys: str, receive_count: int = 1) -> Message:
    return Message(message_id, f"receipt-{message_id}", body_for(*keys), receive_count)


def processor(handler: ScriptedHandler, concurrency: int = 10) -> BatchProcessor:
    return BatchProcessor(handler, POLICY, random=lambda: HALF, concurrency=concurrency)


async def test_all_succeed_reports_no_failures() -> None:
    handler = ScriptedHandler()
    result = await processor(handler).process([message("m1", "a"), message("m2", "b")])
    assert result.failure_ids() == []
    assert [type(o) for o in result.outcomes] == [Succeeded, Succeeded]
    assert handler.handled == ["a", "b"]


async def test_mixed_batch_reports_exactly_the_failed_ids_in_order() -> None:
    handler = ScriptedHandler({"b": BackendUnavailable, "d": RuntimeError, "e": PoisonMessage})
    batch = [message(f"m{i}", key) for i, key in enumerate("abcde", 1)]
    result = await processor(handler).process(batch)
    assert result.failure_ids() == ["m2", "m4", "m5"]
    assert [o.message.id for o in result.succeeded] == ["m1", "m3"]
    assert [o.message.id for o in result.retried] == ["m2", "m4"]
    assert [o.message.id for o in result.dead] == ["m5"]


async def test_all_fail_reports_every_id() -> None:
    handler = ScriptedHandler({"a": BackendUnavailable, "b": RuntimeError})
    result = await processor(handler).process([message("m1", "a"), message("m2", "b")])
    assert result.failure_ids() == ["m1", "m2"]


async def test_malformed_message_fails_alone() -> None:
    handler = ScriptedHandler()
    garbage = Message("bad", "receipt-bad", "{not json", 1)
    result = await processor(handler).process([message("m1", "a"), garbage, message("m3", "c")])
    assert result.failure_ids() == ["bad"]
    [dead] = result.dead
    assert dead.message == garbage
    assert (dead.reason, dead.detail) == (FailureReason.MALFORMED, "body is not JSON")
    assert handler.handled == ["a", "c"]


async def test_duplicate_events_in_one_batch_are_handled_once_and_both_succeed() -> None:
    handler = ScriptedHandler()
    s3_notification = message("s3", "k", "other")
    client_complete = message("api", "k")
    result = await processor(handler).process([s3_notification, client_complete])
    assert sorted(handler.handled) == ["k", "other"]
    assert result.failure_ids() == []
    assert len(result.succeeded) == 2


async def test_duplicates_share_a_failure() -> None:
    handler = ScriptedHandler({"k": BackendUnavailable})
    result = await processor(handler).process([message("m1", "k"), message("m2", "k")])
    assert handler.handled == ["k"]
    assert result.failure_ids() == ["m1", "m2"]


async def test_poison_from_the_handler_dead_letters_the_message() -> None:
    handler = ScriptedHandler({"p": PoisonMessage})
    result = await processor(handler).process([message("m1", "p")])
    poisoned = Dead(message("m1", "p"), FailureReason.POISON, "scripted failure for p")
    assert result.outcomes == (poisoned,)


async def test_a_message_succeeds_only_if_all_its_events_do() -> None:
    handler = ScriptedHandler({"bad": BackendUnavailable})
    both = message("both", "good", "bad")
    result = await processor(handler).process([both, message("alone", "good")])
    assert result.failure_ids() == ["both"]
    assert [o.message.id for o in result.succeeded] == ["alone"]


async def test_poison_wins_over_a_transient_failure_in_one_message() -> None:
    handler = ScriptedHandler({"t": BackendUnavailable, "p": PoisonMessage})
    result = await processor(handler).process([message("m", "t", "p")])
    assert [type(o) for o in result.outcomes] == [Dead]


@pytest.mark.parametrize("receive_count", [1, 2, 3, 9])
async def test_transient_failure_retries_after_the_policy_delay(receive_count: int) -> None:
    handler = ScriptedHandler({"a": BackendUnavailable})
    failed = message("m1", "a", receive_count=receive_count)
    result = await processor(handler).process([failed])
    expected = POLICY.delay(receive_count, lambda: HALF)
    reason = FailureReason.BACKEND_UNAVAILABLE
    assert result.outcomes == (Retry(failed, expected, reason, "scripted failure for a"),)


async def test_unexpected_error_is_retried_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    handler = ScriptedHandler({"a": RuntimeError})
    result = await processor(handler).process([message("m1", "a", receive_count=2)])
    [retry] = result.retried
    assert (retry.reason, retry.detail) == (FailureReason.UNEXPECTED, "RuntimeError")
    assert retry.delay == timedelta(seconds=15)
    assert any(r.exc_info and "a" in r.getMessage() for r in caplog.records)


async def test_test_event_succeeds_without_calling_the_handler() -> None:
    handler = ScriptedHandler()
    test_event = Message("t", "receipt-t", json.dumps({"Event": "s3:TestEvent"}), 1)
    result = await processor(handler).process([test_event])
    assert result.outcomes == (Succeeded(test_event),)
    assert handler.handled == []


async def test_empty_batch_has_no_outcomes() -> None:
    result = await processor(ScriptedHandler()).process([])
    assert result == BatchResult(())


async def test_events_are_handled_concurrently_within_the_bound() -> None:
    running = peak = 0

    class SlowHandler:
        async def handle(self, event: ObjectCreated) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.005)
            running -= 1

    bounded = BatchProcessor(SlowHandler(), POLICY, concurrency=3)
    result = await bounded.process([message(f"m{i}", f"k{i}") for i in range(8)])
    assert len(result.succeeded) == 8
    assert peak == 3


async def test_one_structured_log_line_per_batch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="filegate.worker.batch")
    handler = ScriptedHandler({"b": BackendUnavailable, "c": PoisonMessage})
    await processor(handler).process([message("m1", "a"), message("m2", "b"), message("m3", "c")])
    [line] = [vars(r) for r in caplog.records if hasattr(r, "batch_size")]
    assert (line["batch_size"], line["succeeded"], line["retried"], line["dead"]) == (3, 1, 1, 1)
    assert line["duration_ms"] >= 0


async def test_failure_ids_skip_empty_ids_and_flag_them() -> None:
    handler = ScriptedHandler({"a": BackendUnavailable})
    result = await processor(handler).process([message("", "a"), message("m2", "b")])
    assert result.failure_ids() == []
    assert result.has_unnamed_failure()


# --- settle() against the in-memory queue ---------------------------------------------------


async def received(queue: MemoryQueue, n: int = 10) -> list[Message]:
    return await queue.receive(n, timedelta(seconds=60), timedelta(0))


async def test_settle_deletes_successes_delays_retries_and_dead_letters_poison() -> None:
    clock = ManualClock()
    queue = MemoryQueue(clock=clock)
    await queue.send_batch([body_for("ok-1"), body_for("flaky"), body_for("ok-2"), "garbage"])
    handler = ScriptedHandler({"flaky": BackendUnavailable})
    result = await processor(handler).process(await received(queue))
    [retry] = result.retried

    await settle(queue, result)

    depth = await queue.depth()
    assert (depth.visible, depth.in_flight, depth.dead) == (0, 1, 1)
    assert queue.dead[0].dead_reason == "MALFORMED: body is not JSON"
    clock.advance(retry.delay - timedelta(microseconds=1))
    assert await received(queue) == []
    clock.advance(timedelta(microseconds=1))
    [back] = await received(queue)
    assert (back.id, back.receive_count) == (retry.message.id, 2)
    await queue.delete_batch([back.receipt])
    clock.advance(timedelta(hours=1))
    assert await received(queue) == []  # the successes are gone for good


class DeleteFailsQueue(MemoryQueue):
    """Fault injection: ``delete_batch`` raises as an unreachable queue would."""

    async def delete_batch(self, receipts: object) -> None:
        raise BackendUnavailable("queue unreachable")


async def test_a_failing_delete_loses_nothing_and_settling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    queue = DeleteFailsQueue(clock=clock)
    await queue.send_batch([body_for("ok"), body_for("p")])
    handler = ScriptedHandler({"p": PoisonMessage})
    result = await processor(handler).process(await received(queue))

    await settle(queue, result)

    assert [m.dead_reason for m in queue.dead] == ["POISON: scripted failure for p"]
    assert any("delete_batch" in r.getMessage() for r in caplog.records)
    clock.advance(timedelta(seconds=60))
    [again] = await received(queue)
    assert again.id == result.succeeded[0].message.id


class VisibilityRecordingQueue(MemoryQueue):
    """Records visibility calls; ``change_visibility_batch`` raises while ``down`` is set."""

    def __init__(self, clock: ManualClock, down: bool = False) -> None:
        super().__init__(clock=clock)
        self.down = down
        self.batches: list[list[VisibilityChange]] = []

    async def change_visibility_batch(self, changes: Sequence[VisibilityChange]) -> None:
        self.batches.append(list(changes))
        if self.down:
            raise BackendUnavailable("queue unreachable")
        await super().change_visibility_batch(changes)


async def test_settle_delays_every_retried_message_in_one_call() -> None:
    queue = VisibilityRecordingQueue(ManualClock())
    await queue.send_batch([body_for("t1"), body_for("ok"), body_for("t2"), body_for("t3")])
    handler = ScriptedHandler({"t1": BackendUnavailable, "t2": RuntimeError, "t3": RuntimeError})
    result = await processor(handler).process(await received(queue))

    await settle(queue, result)

    assert queue.batches == [[VisibilityChange(r.message.receipt, r.delay) for r in result.retried]]
    assert len(result.retried) == 3


async def test_a_failing_visibility_change_loses_nothing_and_settling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    queue = VisibilityRecordingQueue(clock, down=True)
    await queue.send_batch([body_for("t"), body_for("p")])
    handler = ScriptedHandler({"t": BackendUnavailable, "p": PoisonMessage})
    result = await processor(handler).process(await received(queue))

    await settle(queue, result)

    assert [m.dead_reason for m in queue.dead] == ["POISON: scripted failure for p"]
    assert any("change_visibility_batch" in r.getMessage() for r in caplog.records)
    clock.advance(timedelta(seconds=60))  # the claim's own timeout, not the backoff
    [again] = await received(queue)
    assert again.id == result.retried[0].message.id


# --- failure_ids over arbitrary outcomes -----------------------------------------------------

KEYS = ["k1", "k2", "k3", "k4"]
outcomes_by_key = st.fixed_dictionaries({key: st.sampled_from(["ok", *FAILURES]) for key in KEYS})
message_specs = st.lists(
    st.tuples(
        st.sampled_from(["", "a", "b", "c", "d", "e"]),
        st.none() | st.lists(st.sampled_from(KEYS), min_size=1, max_size=3),
    ),
    max_size=10,
)


@settings(max_examples=75, deadline=None)
@given(outcomes_by_key, message_specs)
def test_failure_ids_are_exactly_the_failed_ids_of_the_batch(
    outcomes: dict[str, str], specs: list[tuple[str, list[str] | None]]
) -> None:
    script = {key: FAILURES[o] for key, o in outcomes.items() if o != "ok"}
    batch = [
        Message(mid, f"r{i}", body_for(*keys) if keys else "<malformed>", 1)
        for i, (mid, keys) in enumerate(specs)
    ]

    result = asyncio.run(processor(ScriptedHandler(script)).process(batch))

    failed = [mid for mid, keys in specs if keys is None or any(outcomes[k] != "ok" for k in keys)]
    expected = list(dict.fromkeys(mid for mid in failed if mid))
    assert result.failure_ids() == expected
    assert set(result.failure_ids()) <= {m.id for m in batch}
    assert result.has_unnamed_failure() == ("" in failed)
    assert len(result.outcomes) == len(batch)
