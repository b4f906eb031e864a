"""The Prometheus adapter: what each report does to which series, queue gauges, isolation."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from filegate.adapters.counted_queue import CountedQueue
from filegate.adapters.memory import MemoryQueue
from filegate.adapters.prometheus import PrometheusMetrics
from filegate.domain.clock import ManualClock
from filegate.domain.errors import BackendUnavailable
from filegate.domain.metrics import Metrics
from filegate.domain.models import QueueDepth


def value(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_it_implements_the_port() -> None:
    port: Metrics = PrometheusMetrics()
    assert port is not None


def test_counters_move_by_what_is_reported() -> None:
    m = PrometheusMetrics()

    m.registered(3)
    m.upload_bytes(100)
    m.upload_bytes(23)
    m.retried(2)
    m.dead_lettered(1)

    assert value(m, "filegate_registrations_total") == 3
    assert value(m, "filegate_uploads_total") == 2
    assert value(m, "filegate_upload_bytes_total") == 123
    assert value(m, "filegate_messages_retried_total") == 2
    assert value(m, "filegate_messages_dead_lettered_total") == 1


def test_verifications_count_by_outcome_and_reason_and_time_by_outcome() -> None:
    m = PrometheusMetrics()

    m.verified("ready", None, 0.2)
    m.verified("rejected", "CORRUPT_IMAGE", 0.05)
    m.verified("rejected", "CORRUPT_IMAGE", 0.05)

    assert value(m, "filegate_verifications_total", outcome="ready", reason="none") == 1
    assert value(m, "filegate_verifications_total", outcome="rejected", reason="CORRUPT_IMAGE") == 2
    ready = {"outcome": "ready"}
    assert value(m, "filegate_verification_duration_seconds_count", **ready) == 1
    assert value(m, "filegate_verification_duration_seconds_sum", **ready) == 0.2
    rejected = {"outcome": "rejected", "le": "0.05"}
    assert value(m, "filegate_verification_duration_seconds_bucket", **rejected) == 2


def test_every_known_series_exists_at_zero_before_any_event() -> None:
    m = PrometheusMetrics()

    assert (
        value(m, "filegate_verifications_total", outcome="rejected", reason="DECODE_TIMEOUT") == 0
    )
    assert value(m, "filegate_batch_messages_total", outcome="dead") == 0
    assert value(m, "filegate_time_to_ready_seconds_count") == 0


def test_label_values_stay_in_closed_sets() -> None:
    m = PrometheusMetrics()

    m.verified("rejected", "SOMETHING_NEW", 0.1)
    m.observe_request("BREW", None, 418, 0.01)

    assert value(m, "filegate_verifications_total", outcome="rejected", reason="OTHER") == 1
    labels = {"method": "OTHER", "route": "unmatched", "status": "418"}
    assert value(m, "filegate_http_request_duration_seconds_count", **labels) == 1


def test_requests_are_observed_by_method_route_and_status() -> None:
    m = PrometheusMetrics()

    m.observe_request("GET", "/v1/files/{file_id}", 200, 0.003)
    m.observe_request("GET", "/v1/files/{file_id}", 200, 0.2)

    labels = {"method": "GET", "route": "/v1/files/{file_id}", "status": "200"}
    assert value(m, "filegate_http_request_duration_seconds_count", **labels) == 2
    assert value(m, "filegate_http_request_duration_seconds_bucket", le="0.005", **labels) == 1


def test_batches_observe_their_size_and_count_outcomes() -> None:
    m = PrometheusMetrics()

    m.batch(size=4, succeeded=2, retried=1, dead=1)
    m.batch(size=10, succeeded=10, retried=0, dead=0)

    assert value(m, "filegate_batch_size_count") == 2
    assert value(m, "filegate_batch_size_sum") == 14
    assert value(m, "filegate_batch_size_bucket", le="4.0") == 1
    assert value(m, "filegate_batch_messages_total", outcome="succeeded") == 12
    assert value(m, "filegate_batch_messages_total", outcome="retried") == 1


def test_time_to_ready_is_a_histogram() -> None:
    m = PrometheusMetrics()

    m.time_to_ready(0.7)
    m.time_to_ready(90)

    assert value(m, "filegate_time_to_ready_seconds_count") == 2
    assert value(m, "filegate_time_to_ready_seconds_bucket", le="1.0") == 1


def test_each_instance_has_its_own_registry() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()

    first.registered(1)

    assert value(first, "filegate_registrations_total") == 1
    assert value(second, "filegate_registrations_total") == 0


async def test_render_measures_the_queue_at_each_scrape() -> None:
    clock = ManualClock()
    queue = MemoryQueue(clock=clock)
    m = PrometheusMetrics()
    await queue.send_batch(["a", "b", "c"])
    [claimed] = await queue.receive(1, timedelta(minutes=1), timedelta(0))
    await queue.dead_letter(claimed, "test")
    clock.advance(timedelta(seconds=30))

    text = (await m.render(queue)).decode()

    samples = {
        (s.name, s.labels.get("state", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("filegate_queue") and not s.name.startswith("filegate_queue_calls")
    }
    assert samples == {
        ("filegate_queue_up", ""): 1,
        ("filegate_queue_messages", "visible"): 2,
        ("filegate_queue_messages", "in_flight"): 0,
        ("filegate_queue_messages", "dead"): 1,
        ("filegate_queue_oldest_message_age_seconds", ""): 30,
    }
    await queue.send_batch(["d"])
    again = (await m.render(queue)).decode()
    assert 'filegate_queue_messages{state="visible"} 3.0' in again


class DownQueue(MemoryQueue):
    async def depth(self) -> QueueDepth:
        raise BackendUnavailable("queue unreachable")


async def test_a_queue_that_does_not_answer_leaves_its_gauges_out_and_says_so() -> None:
    m = PrometheusMetrics()
    await m.render(MemoryQueue())

    text = (await m.render(DownQueue())).decode()

    assert "filegate_queue_up 0.0" in text
    assert "filegate_queue_messages{" not in text
    assert "filegate_registrations_total" in text  # the rest of the scrape still works


async def test_without_a_queue_no_queue_series_appear() -> None:
    text = (await PrometheusMetrics().render()).decode()

    assert "filegate_queue_up" not in text
    assert "filegate_queue_messages" not in text
    assert 'filegate_build_info{version="' in text


async def test_queue_calls_are_counted_by_operation_through_the_counted_queue() -> None:
    m = PrometheusMetrics()
    queue = CountedQueue(MemoryQueue(clock=ManualClock()), m.queue_call)

    await queue.send_batch(["a", "b"])
    received = await queue.receive(10, timedelta(minutes=1), timedelta(0))
    await queue.delete_batch([message.receipt for message in received])
    await queue.receive(10, timedelta(minutes=1), timedelta(0))

    assert len(received) == 2
    assert value(m, "filegate_queue_calls_total", op="send_batch") == 1
    assert value(m, "filegate_queue_calls_total", op="receive") == 2
    assert value(m, "filegate_queue_calls_total", op="delete_batch") == 1
    assert value(m, "filegate_queue_calls_total", op="dead_letter") == 0
    assert await queue.depth() == await queue.inner.depth()


def test_database_transactions_are_read_from_the_counter_at_each_scrape() -> None:
    m = PrometheusMetrics()
    counts = {"read": 0, "write": 0}
    m.watch_transactions(lambda: counts)

    counts.update(read=5, write=2)

    assert value(m, "filegate_db_transactions_total", mode="read") == 5
    assert value(m, "filegate_db_transactions_total", mode="write") == 2
