"""Filename sanitising and the Content-Disposition header built from it (both domain)."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filegate.domain.filenames import (
    FALLBACK_FILENAME,
    MAX_FILENAME_BYTES,
    content_disposition,
    sanitize_filename,
)

NASTY_CHARACTERS = "/\\\"'.. \t\n\r\x00\x1f\x7f\x85\u200b\u202e\u2028\u2029\ufeff\ud800é🙂写"
nasty_names = st.text(alphabet=st.sampled_from(NASTY_CHARACTERS)) | st.text()


@given(nasty_names)
def test_output_has_no_separators_controls_or_quotes(name: str) -> None:
    cleaned = sanitize_filename(name)

    assert not set(cleaned) & set("/\\\"'")
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in cleaned)


@given(nasty_names)
def test_output_is_never_empty_and_fits_255_utf8_bytes(name: str) -> None:
    cleaned = sanitize_filename(name)

    assert cleaned
    assert len(cleaned.encode()) <= MAX_FILENAME_BYTES


@given(nasty_names)
def test_sanitising_is_idempotent(name: str) -> None:
    once = sanitize_filename(name)

    assert sanitize_filename(once) == once


@given(nasty_names)
def test_output_is_nfc_without_edge_whitespace_or_dots(name: str) -> None:
    cleaned = sanitize_filename(name)

    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip().strip(".") or cleaned == FALLBACK_FILENAME


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\cat.png", "cat.png"),
        ("dir/sub/", "sub"),
        ('my "best" shot.png', "my best shot.png"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("line\r\nbreak.png", "linebreak.png"),
        ("  .hidden.png. ", "hidden.png"),
        ("Cafe\u0301.png", "Café.png"),
        ("写真 🙂.heic", "写真 🙂.heic"),
        ("", FALLBACK_FILENAME),
        ("..", FALLBACK_FILENAME),
        ("/\x00/", FALLBACK_FILENAME),
    ],
)
def test_examples(name: str, expected: str) -> None:
    assert sanitize_filename(name) == expected


def test_long_name_is_cut_in_the_stem_keeping_the_extension() -> None:
    cleaned = sanitize_filename("é" * 300 + ".jpeg")

    assert cleaned.endswith("é.jpeg")
    assert len(cleaned.encode()) <= MAX_FILENAME_BYTES


def test_content_disposition_offers_ascii_fallback_and_exact_utf8_name() -> None:
    header = content_disposition('../Café "noir" 写真.png')

    assert header == (
        'attachment; filename="Cafe noir __.png"; '
        "filename*=UTF-8''Caf%C3%A9%20noir%20%E5%86%99%E7%9C%9F.png"
    )


@given(nasty_names)
def test_content_disposition_is_ascii_and_round_trips_the_sanitised_name(name: str) -> None:
    header = content_disposition(name)

    assert header.isascii()
    assert "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"; ', 1)[0]
    assert '"' not in fallback and "\\" not in fallback
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == sanitize_filename(name)
