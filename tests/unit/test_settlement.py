"""The settlement rule: what each outcome asks of the queue, for either deleter; and the
reason a dead message is stored with."""

from __future__ import annotations

from datetime import timedelta

from filegate.domain.models import (
    MAX_DEAD_REASON_LENGTH,
    FailureReason,
    Message,
    VisibilityChange,
)
from filegate.worker.batch import BatchResult, Dead, Retry, Succeeded
from filegate.worker.settlement import Deleter, plan_settlement


def message(message_id: str) -> Message:
    return Message(message_id, f"receipt-{message_id}", "body", 1)


OK = Succeeded(message("ok"))
RETRY = Retry(message("retry"), timedelta(seconds=7), FailureReason.BACKEND_UNAVAILABLE)
DEAD = Dead(message("dead"), FailureReason.POISON, "never")
LATER = Retry(message("later"), timedelta(seconds=3), FailureReason.UNEXPECTED, "KeyError")
MIXED = BatchResult((RETRY, OK, DEAD, LATER))
DELAYS = (
    VisibilityChange("receipt-retry", timedelta(seconds=7)),
    VisibilityChange("receipt-later", timedelta(seconds=3)),
)


def test_the_worker_deletes_successes_delays_retries_and_moves_dead_messages() -> None:
    plan = plan_settlement(MIXED, Deleter.WORKER)

    assert (plan.delete, plan.delays, plan.dead, plan.move_dead) == (
        ("receipt-ok",),
        DELAYS,
        (DEAD,),
        True,
    )
    assert plan.reported() == [] and plan.reported([DEAD]) == []


def test_under_an_event_source_nothing_is_deleted_and_dead_messages_are_copied() -> None:
    plan = plan_settlement(MIXED, Deleter.EVENT_SOURCE)

    assert (plan.delete, plan.delays, plan.dead, plan.move_dead) == ((), DELAYS, (DEAD,), False)


def test_under_an_event_source_a_dead_message_is_reported_only_if_its_copy_failed() -> None:
    plan = plan_settlement(MIXED, Deleter.EVENT_SOURCE)

    assert plan.reported() == ["retry", "later"]
    assert plan.reported([DEAD]) == ["retry", "dead", "later"]  # in batch order


def test_a_retried_id_stays_reported_when_a_dead_message_with_that_id_was_copied() -> None:
    twin = Dead(message("retry"), FailureReason.MALFORMED, "body is not JSON")
    plan = plan_settlement(BatchResult((RETRY, twin)), Deleter.EVENT_SOURCE)

    assert plan.reported() == ["retry"]


def test_a_batch_of_successes_asks_nothing_but_deletes() -> None:
    result = BatchResult((OK,))

    worker = plan_settlement(result, Deleter.WORKER)
    source = plan_settlement(result, Deleter.EVENT_SOURCE)

    assert (worker.delete, worker.delays, worker.dead) == (("receipt-ok",), (), ())
    assert (source.delete, source.delays, source.dead, source.reported()) == ((), (), (), [])


def test_the_stored_reason_is_the_code_then_the_detail_cut_to_the_stored_length() -> None:
    long = Dead(message("m"), FailureReason.MALFORMED, "x" * 500)

    assert DEAD.dead_letter_reason == "POISON: never"
    assert Dead(message("m"), FailureReason.POISON).dead_letter_reason == "POISON"
    assert long.dead_letter_reason == "MALFORMED: " + "x" * (MAX_DEAD_REASON_LENGTH - 11)


def test_only_failures_of_the_message_itself_are_permanent() -> None:
    permanent = {reason for reason in FailureReason if reason.permanent}

    assert permanent == {
        FailureReason.MALFORMED,
        FailureReason.POISON,
        FailureReason.MAX_RECEIVES,
        FailureReason.DELIVERY_EXHAUSTED,  # a webhook past its whole retry schedule
    }
