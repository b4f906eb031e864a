"""HMAC URL signing: what is bound, tampering, key rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest

from filegate.adapters.local.url_signing import (
    KEY_ID_PARAM,
    SIGNATURE_PARAM,
    UrlGrant,
    UrlSigner,
    escape_path,
    query_string,
)
from filegate.domain.errors import ErrorCode, FilegateError

OLD_KEY = b"old-key-0123456789abcdef"
NEW_KEY = b"new-key-0123456789abcdef"
EXPIRES = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHA = "ab" * 32

UPLOAD = UrlGrant("PUT", "owner/file-1", EXPIRES, "image/png", length=42, sha256=SHA)
DOWNLOAD = UrlGrant("GET", "owner/file-1", EXPIRES, "image/png", filename="Café 写真.png")


def pairs(params: dict[str, str]) -> list[tuple[str, str]]:
    return list(params.items())


def assert_mismatch(signer: UrlSigner, method: str, key: str, query: list[tuple[str, str]]) -> None:
    with pytest.raises(FilegateError) as caught:
        signer.verify(method, key, query)
    assert caught.value.code is ErrorCode.SIGNATURE_MISMATCH


@pytest.fixture
def signer() -> UrlSigner:
    return UrlSigner({"k1": OLD_KEY}, "k1")


@pytest.mark.parametrize("grant", [UPLOAD, DOWNLOAD], ids=["upload", "download"])
def test_verify_returns_exactly_the_signed_grant(signer: UrlSigner, grant: UrlGrant) -> None:
    query = pairs(signer.sign(grant))

    assert signer.verify(grant.method, grant.key, query) == grant


def test_upload_without_sha256_binds_its_absence(signer: UrlSigner) -> None:
    grant = UrlGrant("PUT", "k", EXPIRES, "image/jpeg", length=1)
    params = signer.sign(grant)

    assert "sha256" not in params
    assert signer.verify("PUT", "k", pairs(params)).sha256 is None
    assert_mismatch(signer, "PUT", "k", [*pairs(params), ("sha256", SHA)])


def test_signing_is_deterministic(signer: UrlSigner) -> None:
    assert signer.sign(UPLOAD) == signer.sign(UPLOAD)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expires", str(int(EXPIRES.timestamp()) + 3600)),
        ("length", "43"),
        ("type", "text/html"),
        ("sha256", "cd" * 32),
        (KEY_ID_PARAM, "k2"),
        (SIGNATURE_PARAM, "A" * 43),
    ],
)
def test_any_altered_field_breaks_the_signature(signer: UrlSigner, name: str, value: str) -> None:
    params = signer.sign(UPLOAD)
    params[name] = value

    assert_mismatch(signer, "PUT", UPLOAD.key, pairs(params))


@pytest.mark.parametrize(
    "name", ["expires", "length", "type", "sha256", KEY_ID_PARAM, SIGNATURE_PARAM]
)
def test_any_removed_field_breaks_the_signature(signer: UrlSigner, name: str) -> None:
    params = signer.sign(UPLOAD)
    del params[name]

    assert_mismatch(signer, "PUT", UPLOAD.key, pairs(params))


def test_an_added_or_repeated_parameter_breaks_the_signature(signer: UrlSigner) -> None:
    query = pairs(signer.sign(UPLOAD))

    assert_mismatch(signer, "PUT", UPLOAD.key, [*query, ("filename", "x.png")])
    assert_mismatch(signer, "PUT", UPLOAD.key, [*query, ("cache", "1")])
    assert_mismatch(signer, "PUT", UPLOAD.key, [*query, query[0]])


def test_signature_is_bound_to_method_and_key(signer: UrlSigner) -> None:
    query = pairs(signer.sign(UPLOAD))

    assert_mismatch(signer, "GET", UPLOAD.key, query)
    assert_mismatch(signer, "PUT", "owner/file-2", query)


def test_empty_query_is_a_mismatch(signer: UrlSigner) -> None:
    assert_mismatch(signer, "GET", "k", [])


def test_rotation_new_urls_use_the_current_key_and_old_urls_still_verify() -> None:
    before = UrlSigner({"k1": OLD_KEY}, "k1")
    old_url = pairs(before.sign(DOWNLOAD))
    rotated = UrlSigner({"k1": OLD_KEY, "k2": NEW_KEY}, "k2")

    new_url = rotated.sign(DOWNLOAD)

    assert new_url[KEY_ID_PARAM] == "k2"
    assert rotated.verify("GET", DOWNLOAD.key, old_url) == DOWNLOAD
    assert rotated.verify("GET", DOWNLOAD.key, pairs(new_url)) == DOWNLOAD


def test_a_retired_or_unknown_key_id_fails() -> None:
    old_url = pairs(UrlSigner({"k1": OLD_KEY}, "k1").sign(DOWNLOAD))
    retired = UrlSigner({"k2": NEW_KEY}, "k2")

    assert_mismatch(retired, "GET", DOWNLOAD.key, old_url)


def test_same_key_id_with_another_secret_fails() -> None:
    url = pairs(UrlSigner({"k1": OLD_KEY}, "k1").sign(DOWNLOAD))

    assert_mismatch(UrlSigner({"k1": NEW_KEY}, "k1"), "GET", DOWNLOAD.key, url)


def test_newlines_in_fields_cannot_shift_values_into_other_fields(signer: UrlSigner) -> None:
    # Joined unescaped, both would read "image/png\n5\n\n\nx": fields are percent-encoded.
    signed = signer.sign(UrlGrant("GET", "k", EXPIRES, "image/png\n5", filename="x"))
    shifted = {**signed, "type": "image/png", "length": "5", "filename": "\nx"}

    assert_mismatch(signer, "GET", "k", pairs(shifted))


def test_constructor_refuses_a_missing_current_key_and_short_keys() -> None:
    with pytest.raises(ValueError, match="no signing key"):
        UrlSigner({"k1": OLD_KEY}, "k2")
    with pytest.raises(ValueError, match="at least"):
        UrlSigner({"k1": b"short"}, "k1")


# -- inline downloads (previews) ------------------------------------------------------------

INLINE = UrlGrant(
    "GET", "owner/file-1.thumb", EXPIRES, "image/webp", filename="p.thumb.webp", inline=True
)


def test_an_inline_grant_round_trips_and_says_so_in_the_query(signer: UrlSigner) -> None:
    query = signer.sign(INLINE)

    assert query["disposition"] == "inline"
    assert signer.verify("GET", INLINE.key, pairs(query)) == INLINE


def test_an_attachment_grant_carries_no_disposition(signer: UrlSigner) -> None:
    assert "disposition" not in signer.sign(DOWNLOAD)


@pytest.mark.parametrize("change", ["drop", "add", "alter"])
def test_the_disposition_is_bound(signer: UrlSigner, change: str) -> None:
    inline = signer.sign(INLINE)
    attachment = signer.sign(DOWNLOAD)
    if change == "drop":
        query = {k: v for k, v in inline.items() if k != "disposition"}
        assert_mismatch(signer, "GET", INLINE.key, pairs(query))
    elif change == "add":
        assert_mismatch(signer, "GET", DOWNLOAD.key, pairs({**attachment, "disposition": "inline"}))
    else:
        query = {**inline, "disposition": "attachment"}
        assert_mismatch(signer, "GET", INLINE.key, pairs(query))


def test_a_signature_is_the_one_the_canonical_form_has_always_given() -> None:
    # Pinned: a change of how signatures are computed must not change what they are, or
    # every URL already handed out would stop verifying.
    signer = UrlSigner({"k1": b"0123456789abcdef-secret"}, "k1")
    grant = UrlGrant(
        "PUT",
        "0123456789abcdef/fedcba98765432100123456789abcdef",
        datetime(2026, 3, 1, 12, tzinfo=UTC),
        "image/jpeg",
        2_483_117,
        "ab" * 32,
    )
    assert signer.sign(grant)[SIGNATURE_PARAM] == "qf4E1qPk1Kr4BsDUqYYNHb7PFcnGgoOW0a3ow-PtLd0"


@pytest.mark.parametrize(
    "value", ["plain-value_1.2~", "image/jpeg", "a b&c=d", "ünï €", "line\nbreak", "%41", ""]
)
def test_a_query_string_encodes_as_urlencode_with_quote(value: str) -> None:
    params = {"type": value, "k%": value, "sig": "x"}
    assert query_string(params) == urlencode(params, quote_via=quote)


@pytest.mark.parametrize(
    "key", ["0123abcd/ef-01_2.3~", "a b/c", "ünï/x.jpg", "a%2Fb/c", "k?x=1#y", "", "/"]
)
def test_a_key_escapes_into_a_path_as_quote_keeping_slashes(key: str) -> None:
    assert escape_path(key) == quote(key, safe="/")
