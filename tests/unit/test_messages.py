"""Queue bodies → ObjectCreated: filegate's envelope, S3 notifications, SNS wrapping, poison."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filegate.domain.errors import PoisonMessage
from filegate.domain.messages import encode_object_created, parse_events
from filegate.domain.models import ObjectCreated


def s3_record(
    key: str,
    size: Any = 123,
    event_name: str = "ObjectCreated:Put",
    etag: str = "0123456789abcdef0123456789abcdef",
    sequencer: str = "0055AED6DCD90281E5",
) -> dict[str, Any]:
    """One record shaped like AWS's event message structure (version 2.1)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": "1970-01-01T00:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "filegate-uploads",
            "bucket": {
                "name": "amzn-s3-demo-bucket",
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": "arn:aws:s3:::amzn-s3-demo-bucket",
            },
            "object": {
                "key": key,
                "size": size,
                "eTag": etag,
                "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
                "sequencer": sequencer,
            },
        },
    }


def s3_body(*records: dict[str, Any]) -> str:
    return json.dumps({"Records": list(records)})


def removed_record(key: str) -> dict[str, Any]:
    """ObjectRemoved records carry neither size nor eTag."""
    record = s3_record(key, event_name="ObjectRemoved:Delete")
    record["s3"]["object"] = {"key": key, "sequencer": "0055AED6DCD90281E6"}
    return record


def sns_wrap(message: str) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:uploads",
            "Subject": "Amazon S3 Notification",
            "Message": message,
            "Timestamp": "2026-01-01T00:00:00.000Z",
        }
    )


@pytest.mark.parametrize(
    "event",
    [
        ObjectCreated("ab12/file-1", 10, "etag-1"),
        ObjectCreated("ab12/file 2+ü", 0, "", sequencer="0055AED6DCD90281E5"),
    ],
)
def test_own_envelope_round_trips(event: ObjectCreated) -> None:
    assert parse_events(encode_object_created(event)) == [event]


def test_own_envelope_is_versioned_and_typed() -> None:
    body = json.loads(encode_object_created(ObjectCreated("k", 1, "e")))
    assert body == {"v": 1, "type": "object.created", "key": "k", "size": 1, "etag": "e"}


def test_own_envelope_ignores_unknown_extra_fields() -> None:
    body = json.dumps(
        {"v": 1, "type": "object.created", "key": "k", "size": 1, "etag": "e", "x": 2}
    )
    assert parse_events(body) == [ObjectCreated("k", 1, "e")]


def test_s3_notification_yields_one_event_per_created_record() -> None:
    body = s3_body(
        s3_record("owner/a.jpg", 5, sequencer="01"),
        s3_record("owner/b.jpg", 7, "ObjectCreated:CompleteMultipartUpload", "e2", "02"),
    )
    assert parse_events(body) == [
        ObjectCreated("owner/a.jpg", 5, "0123456789abcdef0123456789abcdef", "01"),
        ObjectCreated("owner/b.jpg", 7, "e2", "02"),
    ]


def test_s3_keys_are_url_decoded_with_plus_as_space() -> None:
    [event] = parse_events(s3_body(s3_record("a/b+c%20d%2Be%C3%BC.jpg")))
    assert event.key == "a/b c d+eü.jpg"


def test_s3_records_other_than_object_created_are_ignored() -> None:
    body = s3_body(removed_record("gone.jpg"), s3_record("kept.jpg"))
    assert [e.key for e in parse_events(body)] == ["kept.jpg"]


def test_s3_body_with_only_removals_yields_nothing() -> None:
    assert parse_events(s3_body(removed_record("gone.jpg"))) == []


def test_s3_compatible_event_names_with_s3_prefix_are_read() -> None:
    record = s3_record("minio/obj.png", event_name="s3:ObjectCreated:Put")
    record["eventSource"] = "minio:s3"
    assert [e.key for e in parse_events(s3_body(record))] == ["minio/obj.png"]


def test_s3_test_event_is_acknowledged_without_events() -> None:
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-01-01T00:00:00.000Z",
            "Bucket": "amzn-s3-demo-bucket",
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )
    assert parse_events(body) == []


def test_s3_notification_wrapped_in_sns_is_unwrapped() -> None:
    body = sns_wrap(s3_body(s3_record("x%2By+z.gif", 9)))
    assert [(e.key, e.size) for e in parse_events(body)] == [("x+y z.gif", 9)]


def test_test_event_wrapped_in_sns_yields_nothing() -> None:
    assert parse_events(sns_wrap(json.dumps({"Event": "s3:TestEvent"}))) == []


_DROP = object()


def _envelope(**changes: Any) -> str:
    document: dict[str, Any] = {"v": 1, "type": "object.created", "key": "k", "size": 1}
    document["etag"] = "e"
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not _DROP})


def _s3_object(**changes: Any) -> str:
    record = s3_record("k")
    record["s3"]["object"].update(changes)
    record["s3"]["object"] = {k: v for k, v in record["s3"]["object"].items() if v is not _DROP}
    return s3_body(record)


MALFORMED = {
    "not json": "{not json",
    "empty body": "",
    "json array": "[1, 2]",
    "json string": '"object.created"',
    "json null": "null",
    "unknown shape": json.dumps({"hello": "world"}),
    "unknown version": _envelope(v=2),
    "version as string": _envelope(v="1"),
    "version as bool": _envelope(v=True),
    "unknown type": _envelope(type="object.deleted"),
    "missing key": _envelope(key=_DROP),
    "empty key": _envelope(key=""),
    "lone surrogate key": '{"v":1,"type":"object.created","key":"\\ud800","size":1,"etag":"e"}',
    "missing size": _envelope(size=_DROP),
    "negative size": _envelope(size=-1),
    "size as string": _envelope(size="1"),
    "size as float": _envelope(size=1.0),
    "size as bool": _envelope(size=True),
    "missing etag": _envelope(etag=_DROP),
    "sequencer not a string": _envelope(sequencer=5),
    "records not a list": json.dumps({"Records": {"a": 1}}),
    "record not an object": json.dumps({"Records": ["x"]}),
    "record without event name": json.dumps({"Records": [{"eventSource": "aws:s3"}]}),
    "record from another source": json.dumps(
        {"Records": [{"eventSource": "aws:sqs", "eventName": "ObjectCreated:Put"}]}
    ),
    "record without s3 object": json.dumps(
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}
    ),
    "s3 key missing": _s3_object(key=_DROP),
    "s3 key bad escape": _s3_object(key="%C3%28.jpg"),
    "s3 negative size": _s3_object(size=-5),
    "s3 size as string": _s3_object(size="5"),
    "s3 etag missing": _s3_object(eTag=_DROP),
    "other s3 event": json.dumps({"Event": "s3:SomethingElse"}),
    "sns message not a string": json.dumps({"Type": "Notification", "Message": {"v": 1}}),
    "sns message not json": json.dumps({"Type": "Notification", "Message": "{oops"}),
    "sns inside sns": sns_wrap(sns_wrap(s3_body(s3_record("k")))),
    "deeply nested": "[" * 100_000 + "]" * 100_000,
    "huge integer": '{"v":1,"type":"object.created","key":"k","size":'
    + "9" * 5000
    + ',"etag":"e"}',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bodies_are_poison(body: str) -> None:
    with pytest.raises(PoisonMessage) as raised:
        parse_events(body)
    assert str(raised.value)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["v", "type", "key", "size", "etag", "Records", "Event", "Type", "Message"]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(st.text())
def test_arbitrary_text_parses_or_is_poison(body: str) -> None:
    try:
        events = parse_events(body)
    except PoisonMessage:
        return
    assert all(isinstance(e, ObjectCreated) for e in events)


@given(JSON)
def test_arbitrary_json_parses_or_is_poison(document: object) -> None:
    try:
        events = parse_events(json.dumps(document))
    except PoisonMessage:
        return
    assert all(isinstance(e, ObjectCreated) and e.key and e.size >= 0 for e in events)


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "eventSource": st.sampled_from(["aws:s3", "aws:sqs", 1]),
                "eventName": st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", None]),
                "s3": st.fixed_dictionaries(
                    {"object": st.dictionaries(st.sampled_from(["key", "size", "eTag"]), SCALARS)}
                ),
            }
        ),
        max_size=3,
    )
)
def test_arbitrary_s3_records_parse_or_are_poison(records: list[dict[str, Any]]) -> None:
    try:
        events = parse_events(json.dumps({"Records": records}))
    except PoisonMessage:
        return
    assert len(events) <= len(records)
