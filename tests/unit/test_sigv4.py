"""The SigV4 presigner produces byte-identical URLs to botocore's for the same inputs and time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode, percent_encode_sequence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filegate.adapters.s3.sigv4 import SigV4Presigner, host_header
from filegate.domain.clock import ManualClock

NOW = datetime(2026, 3, 14, 15, 9, 26, 535_000, tzinfo=UTC)
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda key: not key.startswith("/"))
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)


@pytest.fixture
def frozen_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """botocore reads the time through ``botocore.auth.get_current_datetime``: pin it to NOW."""

    def fixed(remove_tzinfo: bool = True) -> datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    monkeypatch.setattr(botocore.auth, "get_current_datetime", fixed)
    yield


def presigner(region: str = "eu-west-1", token: str | None = None) -> SigV4Presigner:
    return SigV4Presigner(ACCESS_KEY, SECRET_KEY, token, region, ManualClock(NOW))


def botocore_query_auth(
    method: str,
    origin: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    expires: int,
    region: str = "eu-west-1",
    token: str | None = None,
) -> str:
    """The URL botocore's own ``S3SigV4QueryAuth`` signs for the same request."""
    url = origin + percent_encode(path, safe="/~")
    if query:
        url += "?" + percent_encode_sequence(dict(query))
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, token)
    botocore.auth.S3SigV4QueryAuth(credentials, "s3", region, expires=expires).add_auth(request)
    return str(request.url)


@pytest.fixture(scope="module")
def path_style_client() -> Any:
    """Created once: building a botocore client takes longer than a hundred signatures."""
    return botocore_client("http://127.0.0.1:9000", path_style=True, token="tok")


def botocore_client(endpoint_url: str | None, path_style: bool, token: str | None = None) -> Any:
    session = botocore.session.get_session()
    config = Config(
        signature_version="s3v4", s3={"addressing_style": "path" if path_style else "virtual"}
    )
    return session.create_client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        config=config,
    )


@pytest.mark.usefixtures("frozen_botocore")
@pytest.mark.parametrize("token", [None, "session/token+with=odd chars"])
def test_put_with_signed_headers_matches_botocore_query_auth(token: str | None) -> None:
    headers = {
        "Content-Length": "1048576",
        "Content-Type": "image/png",
        "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
        "If-None-Match": "*",
    }
    origin = "https://my-bucket.s3.eu-west-1.amazonaws.com"

    ours = presigner(token=token).presign("PUT", origin, "/ab12/file-1", {}, headers, 900)

    assert ours == botocore_query_auth("PUT", origin, "/ab12/file-1", {}, headers, 900, token=token)


@pytest.mark.usefixtures("frozen_botocore")
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, content_type=header_values, filename=st.text(max_size=30))
def test_any_key_and_query_matches_botocore_query_auth(
    key: str, content_type: str, filename: str
) -> None:
    query = {"response-content-disposition": f"attachment; filename={filename}"}
    query["response-content-type"] = content_type
    origin = "http://127.0.0.1:9000"
    path = f"/bucket/{key}"

    ours = presigner().presign("GET", origin, path, query, {}, 300)

    assert ours == botocore_query_auth("GET", origin, path, query, {}, 300)


@pytest.mark.usefixtures("frozen_botocore")
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, content_type=header_values, size=st.integers(0, 5 * 2**30))
def test_presigned_put_matches_botocore_generate_presigned_url(
    path_style_client: Any, key: str, content_type: str, size: int
) -> None:
    params = {
        "Bucket": "bucket",
        "Key": key,
        "ContentType": content_type,
        "ContentLength": size,
        "IfNoneMatch": "*",
    }
    expected = path_style_client.generate_presigned_url("put_object", Params=params, ExpiresIn=600)
    headers = {"Content-Type": content_type, "Content-Length": str(size), "If-None-Match": "*"}

    ours = presigner(token="tok").presign(
        "PUT", "http://127.0.0.1:9000", f"/bucket/{key}", {}, headers, 600
    )

    assert ours == expected


@pytest.mark.usefixtures("frozen_botocore")
def test_virtual_hosted_get_matches_botocore_generate_presigned_url() -> None:
    client = botocore_client(None, path_style=False)
    params = {
        "Bucket": "my-bucket",
        "Key": "owner/photo 1.jpg",
        "ResponseContentDisposition": "attachment; filename=\"a.jpg\"; filename*=UTF-8''a.jpg",
        "ResponseContentType": "image/jpeg",
    }
    expected = client.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
    query = {
        "response-content-disposition": params["ResponseContentDisposition"],
        "response-content-type": "image/jpeg",
    }

    ours = presigner().presign(
        "GET", "https://my-bucket.s3.eu-west-1.amazonaws.com", "/owner/photo 1.jpg", query, {}, 300
    )

    assert ours == expected


@pytest.mark.usefixtures("frozen_botocore")
def test_upload_part_matches_botocore_generate_presigned_url() -> None:
    client = botocore_client("http://127.0.0.1:9000", path_style=True)
    params = {
        "Bucket": "bucket",
        "Key": "k/1",
        "UploadId": "upload/id+1==",
        "PartNumber": 7,
        "ContentLength": 5 * 2**20,
    }
    expected = client.generate_presigned_url("upload_part", Params=params, ExpiresIn=3600)

    ours = presigner().presign(
        "PUT",
        "http://127.0.0.1:9000",
        "/bucket/k/1",
        {"uploadId": "upload/id+1==", "partNumber": "7"},
        {"Content-Length": str(5 * 2**20)},
        3600,
    )

    assert ours == expected


def test_the_signing_key_is_derived_once_per_day() -> None:
    clock = ManualClock(NOW)
    signer = SigV4Presigner(ACCESS_KEY, SECRET_KEY, None, "eu-west-1", clock)
    derivations: list[bytes] = []
    real_new = hmac.new

    def counting_new(key: bytes, msg: bytes, digestmod: Any) -> hmac.HMAC:
        derivations.append(msg)
        return real_new(key, msg, digestmod)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hmac, "new", counting_new)
        for _ in range(3):
            signer.presign("GET", "https://h", "/k", {}, {}, 60)
        clock.advance(timedelta(days=1))
        signer.presign("GET", "https://h", "/k", {}, {}, 60)

    # Per URL: one HMAC of the string to sign; per day: four more for the key.
    assert len(derivations) == 4 * 1 + 4 + 4


def test_signature_follows_the_documented_derivation() -> None:
    url = presigner().presign("GET", "https://h.example", "/k", {}, {}, 60)
    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    canonical = "\n".join(
        [
            "GET",
            "/k",
            "&".join(
                [
                    "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                    "X-Amz-Credential=AKIDEXAMPLE%2F20260314%2Feu-west-1%2Fs3%2Faws4_request",
                    "X-Amz-Date=20260314T150926Z",
                    "X-Amz-Expires=60",
                    "X-Amz-SignedHeaders=host",
                ]
            ),
            "host:h.example\n",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            "20260314T150926Z",
            "20260314/eu-west-1/s3/aws4_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{SECRET_KEY}".encode()
    for part in ("20260314", "eu-west-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()

    assert params["X-Amz-Signature"] == hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("expires_in", [0, -1, 7 * 24 * 3600 + 1])
def test_expiry_outside_one_second_to_seven_days_is_refused(expires_in: int) -> None:
    with pytest.raises(ValueError, match="expires_in"):
        presigner().presign("GET", "https://h", "/k", {}, {}, expires_in)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("https://b.s3.amazonaws.com", "b.s3.amazonaws.com"),
        ("https://b.s3.amazonaws.com:443", "b.s3.amazonaws.com"),
        ("http://127.0.0.1:80", "127.0.0.1"),
        ("http://127.0.0.1:9000", "127.0.0.1:9000"),
        ("http://[::1]:9000", "[::1]:9000"),
        ("HTTP://MinIO.Local:9000", "minio.local:9000"),
    ],
)
def test_host_header_leaves_out_default_ports(origin: str, host: str) -> None:
    assert host_header(origin) == host
