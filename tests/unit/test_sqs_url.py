"""``sqs://`` queue URLs."""

from __future__ import annotations

import pytest

from filegate.adapters.sqs.url import SqsLocation, default_dead_letter_name, parse_sqs_url


def test_every_part_is_read() -> None:
    url = "sqs://uploads?endpoint_url=http://127.0.0.1:5000&region=eu-west-1&dlq=uploads-dead"

    assert parse_sqs_url(url) == SqsLocation(
        "uploads", "http://127.0.0.1:5000", "eu-west-1", "uploads-dead"
    )


def test_a_bare_name_leaves_the_rest_to_the_aws_chain_and_the_queue() -> None:
    assert parse_sqs_url("sqs://uploads") == SqsLocation("uploads", None, None, None)
    assert parse_sqs_url("sqs://uploads/") == SqsLocation("uploads", None, None, None)


def test_the_default_dead_letter_queue_is_named_after_the_queue() -> None:
    assert default_dead_letter_name("uploads") == "uploads-dlq"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sql://uploads", "not an sqs:// URL"),
        ("sqs://key:secret@uploads", "credentials do not belong"),
        ("sqs://uploads?endpoint_url=http://key:secret@host", "credentials do not belong"),
        ("sqs://uploads?endpoint=http://x", "unknown sqs:// parameter"),
        ("sqs://uploads?region=a&region=b", "given twice"),
        ("sqs://uploads?endpoint_url=ftp://host", "must be an http"),
        ("sqs://uploads.fifo", "FIFO queues are not supported"),
        ("sqs://", "invalid SQS queue name"),
        ("sqs://" + "q" * 81, "invalid SQS queue name"),
        ("sqs://up%20loads", "invalid SQS queue name"),
        ("sqs://uploads/more", "nothing after it"),
        ("sqs://uploads?dlq=bad%20name", "invalid SQS dead-letter queue name"),
        ("sqs://uploads?region=EU%20WEST", "not a region name"),
    ],
)
def test_a_bad_url_is_refused_with_the_reason(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_sqs_url(url)
