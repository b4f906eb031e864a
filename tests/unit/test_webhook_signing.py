"""Standard Webhooks signing, checked by the reference verifier (``standardwebhooks``)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from filegate.adapters.webhooks.signing import headers, new_secret, signature
from filegate.domain.events import EventType
from filegate.domain.webhooks import WebhookEndpoint, secret_key

BODY = '{"type":"file.ready","timestamp":"2026-12-03T10:00:00.000000Z","data":{"id":"f_1"}}'
MSG_ID = "evt_abc"
# A secret and signature computed independently (openssl dgst -sha256 -hmac), so that the
# signer is not only checked against a verifier that shares its reading of the spec.
KNOWN_SECRET = "whsec_" + base64.b64encode(b"filegate-test-key").decode()
KNOWN_SIGNATURE = "v1,aB1NdXf7E8ocFUuTKGjaHzG4M3CeeUPUYgcOeSAg7Zo="


def now() -> datetime:
    """The verifier refuses timestamps more than five minutes from its own clock."""
    return datetime.now(UTC)


def test_signature_matches_an_independent_computation() -> None:
    assert signature([KNOWN_SECRET], "msg_1", 1700000000, "{}") == KNOWN_SIGNATURE


def test_headers_are_verified_by_the_reference_implementation() -> None:
    secret = new_secret()
    sent = headers([secret], MSG_ID, now(), BODY)
    assert Webhook(secret).verify(BODY, sent) == {
        "type": "file.ready",
        "timestamp": "2026-12-03T10:00:00.000000Z",
        "data": {"id": "f_1"},
    }


def test_every_secret_of_a_rotation_verifies_on_its_own() -> None:
    old, new = new_secret(), new_secret()
    sent = headers([old, new], MSG_ID, now(), BODY)
    assert len(sent["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(BODY, sent)


def test_another_secret_does_not_verify() -> None:
    sent = headers([new_secret()], MSG_ID, now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, sent)


def test_a_changed_body_does_not_verify() -> None:
    secret = new_secret()
    sent = headers([secret], MSG_ID, now(), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("f_1", "f_2"), sent)


def test_a_changed_id_does_not_verify() -> None:
    secret = new_secret()
    sent = headers([secret], MSG_ID, now(), BODY) | {"webhook-id": "evt_other"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, sent)


def test_a_changed_timestamp_does_not_verify() -> None:
    secret = new_secret()
    sent = headers([secret], MSG_ID, now(), BODY)
    sent["webhook-timestamp"] = str(int(sent["webhook-timestamp"]) - 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, sent)


def test_headers_carry_id_whole_second_timestamp_type_and_agent() -> None:
    moment = datetime(2026, 12, 3, 10, 0, 0, 987654, tzinfo=UTC)
    sent = headers([KNOWN_SECRET], MSG_ID, moment, BODY)
    assert sent["webhook-id"] == MSG_ID
    assert sent["webhook-timestamp"] == str(int(moment.replace(microsecond=0).timestamp()))
    assert sent["content-type"] == "application/json"
    assert sent["user-agent"] == "filegate"


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        headers([KNOWN_SECRET], MSG_ID, datetime(2026, 1, 1), BODY)


def test_new_secrets_are_fresh_32_byte_keys() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32


@pytest.mark.parametrize("secret", ["abc", "whsec_", "whsec_not base64!", "WHSEC_YWJj"])
def test_malformed_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        secret_key(secret)


def test_an_endpoint_needs_a_well_formed_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        WebhookEndpoint("shop", "https://shop.example/hooks", ())
    with pytest.raises(ValueError, match="webhook secret"):
        WebhookEndpoint("shop", "https://shop.example/hooks", ("whsec_%%",))


def test_an_endpoint_without_event_types_wants_every_type() -> None:
    endpoint = WebhookEndpoint("shop", "https://shop.example/hooks", (KNOWN_SECRET,))
    assert all(endpoint.wants(type) for type in EventType)


def test_an_endpoint_wants_only_its_event_types() -> None:
    wanted = frozenset({EventType.FILE_READY, EventType.FILE_REJECTED})
    endpoint = WebhookEndpoint("shop", "https://shop.example/h", (KNOWN_SECRET,), wanted)
    assert [type for type in EventType if endpoint.wants(type)] == [
        EventType.FILE_READY,
        EventType.FILE_REJECTED,
    ]


def test_an_endpoint_allows_at_least_one_delivery_in_flight() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        WebhookEndpoint("shop", "https://shop.example/h", (KNOWN_SECRET,), max_in_flight=0)


def test_timestamps_five_minutes_old_are_refused_by_receivers() -> None:
    """Why the sender signs with the attempt's time, never the event's."""
    secret = new_secret()
    sent = headers([secret], MSG_ID, now() - timedelta(minutes=6), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, sent)
