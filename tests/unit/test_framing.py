"""The framing check on raw ASGI headers, including shapes h11 never passes on (another
parser, such as httptools, hands the app duplicates as they came)."""

from __future__ import annotations

import pytest

from filegate.http.framing import framing_fault

CL = b"content-length"
TE = b"transfer-encoding"


@pytest.mark.parametrize(
    "headers",
    [
        [(CL, b"10"), (TE, b"chunked")],
        [(TE, b"chunked"), (CL, b"10")],
        [(CL, b"10"), (CL, b"10")],
        [(CL, b"10, 10")],
        [(CL, b"+10")],
        [(CL, b"-1")],
        [(CL, b"0x0a")],
        [(CL, b"")],
        [(CL, b"1" * 20)],
        [(TE, b"gzip, chunked")],
        [(TE, b"chunked, chunked")],
        [(TE, b"chunked"), (TE, b"chunked")],
        [(TE, b"xchunked")],
        [(TE, b"chunked;q=1")],
        [(TE, b"identity")],
    ],
    ids=repr,
)
def test_ambiguous_framing_is_named(headers: list[tuple[bytes, bytes]]) -> None:
    assert framing_fault(headers, "1.1") is not None


@pytest.mark.parametrize(
    "headers",
    [[], [(CL, b"0")], [(CL, b"1048576")], [(TE, b"chunked")], [(TE, b"Chunked")]],
    ids=repr,
)
def test_one_reading_passes(headers: list[tuple[bytes, bytes]]) -> None:
    assert framing_fault([(b"host", b"x"), *headers], "1.1") is None


def test_transfer_encoding_on_http_1_0_is_refused() -> None:
    assert framing_fault([(TE, b"chunked")], "1.0") is not None
    assert framing_fault([(CL, b"3")], "1.0") is None
