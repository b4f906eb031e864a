"""inspect_path: every outcome, run in-process (the pool runs the same function in a child)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from filegate.domain.models import ImageInfo, Inspection, RejectionReason
from filegate.imaging.inspect import ImageLimits, inspect_path
from tests.support import images

ALLOWED = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "image/heif",
    "image/gif",
    "image/tiff",
)
LIMITS = ImageLimits(allowed_types=ALLOWED, max_pixels=1_000_000, max_frames=10)


class Inspect(Protocol):
    def __call__(self, data: bytes, limits: ImageLimits = LIMITS) -> Inspection: ...


@pytest.fixture
def inspect(tmp_path: Path) -> Inspect:
    """Write the bytes to a file with a misleading name, then inspect it."""

    def run(data: bytes, limits: ImageLimits = LIMITS) -> Inspection:
        path = tmp_path / "upload.txt"  # the name must not matter
        path.write_bytes(data)
        return inspect_path(path, limits)

    return run


def verdict(inspection: Inspection) -> tuple[RejectionReason | None, str | None, ImageInfo | None]:
    """What the file is judged to be (placeholder and hash are tested on their own)."""
    return inspection.reason, inspection.content_type, inspection.image


# --- identification -----------------------------------------------------------------


def test_empty_file_is_rejected_as_empty(inspect: Inspect) -> None:
    assert inspect(b"") == Inspection(RejectionReason.EMPTY_FILE)


def test_text_is_not_an_image(inspect: Inspect) -> None:
    assert inspect(images.text_bytes()) == Inspection(RejectionReason.NOT_AN_IMAGE)


def test_video_in_an_iso_container_is_not_an_image(inspect: Inspect) -> None:
    mp4_head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    assert inspect(mp4_head) == Inspection(RejectionReason.NOT_AN_IMAGE)


@pytest.mark.parametrize("factory", [images.bmp_bytes, images.avif_bytes], ids=["bmp", "avif"])
def test_image_format_off_the_allow_list_is_unsupported(
    inspect: Inspect, factory: Callable[[], bytes]
) -> None:
    assert inspect(factory()) == Inspection(RejectionReason.UNSUPPORTED_FORMAT)


def test_allow_list_is_the_limits_not_a_fixed_set(inspect: Inspect) -> None:
    png_only = ImageLimits(allowed_types=("image/png",), max_pixels=10**6, max_frames=1)
    assert inspect(images.jpeg_bytes(), png_only).reason is RejectionReason.UNSUPPORTED_FORMAT
    with_bmp = ImageLimits(allowed_types=("image/bmp",), max_pixels=10**6, max_frames=1)
    assert inspect(images.bmp_bytes(), with_bmp).content_type == "image/bmp"


def test_magic_bytes_of_an_allowed_type_with_a_broken_header_are_corrupt(inspect: Inspect) -> None:
    assert inspect(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10).reason is RejectionReason.CORRUPT_IMAGE


@pytest.mark.parametrize(
    ("factory", "content_type"),
    [
        (images.heic_bytes, "image/heic"),
        (images.heif_generic_bytes, "image/heif"),
        (images.avif_bytes, "image/avif"),
        (images.bmp_bytes, "image/bmp"),
        (images.gif_bytes, "image/gif"),
    ],
    ids=["heic", "heif", "avif", "bmp", "gif"],
)
def test_type_is_the_one_the_magic_bytes_announce(
    inspect: Inspect, factory: Callable[[], bytes], content_type: str
) -> None:
    # Only this type is allowed: any other reading of the bytes would be refused.
    only_this = ImageLimits(allowed_types=(content_type,), max_pixels=10**6, max_frames=1)
    assert inspect(factory(), only_this).content_type == content_type


@pytest.mark.parametrize(
    "data",
    [
        b"BM is how this text starts, not a bitmap",
        b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    ],
    ids=["text-BM", "mp4"],
)
def test_bytes_resembling_an_allowed_type_are_not_an_image(inspect: Inspect, data: bytes) -> None:
    lenient = ImageLimits(
        allowed_types=(*ALLOWED, "image/bmp", "image/avif"), max_pixels=10**6, max_frames=1
    )
    assert inspect(data, lenient) == Inspection(RejectionReason.NOT_AN_IMAGE)


# --- accepted images: the facts -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "content_type", "info"),
    [
        (images.jpeg_bytes(), "image/jpeg", ImageInfo("JPEG", 64, 48, 1, "RGB", 1, bit_depth=8)),
        (images.png_bytes(), "image/png", ImageInfo("PNG", 64, 48, 1, "RGBA", 1, bit_depth=8)),
        (images.webp_bytes(), "image/webp", ImageInfo("WEBP", 64, 48, 1, "RGB", 1, bit_depth=8)),
        (images.gif_bytes(), "image/gif", ImageInfo("GIF", 64, 48, 1, "P", 1, bit_depth=8)),
        (
            images.tiff_bytes(),
            "image/tiff",
            ImageInfo("TIFF", 64, 48, 1, "RGB", 1, bit_depth=8, dpi=(1.0, 1.0)),
        ),
        (images.heic_bytes(), "image/heic", ImageInfo("HEIF", 64, 48, 1, "RGB", 1, bit_depth=8)),
        (
            images.heif_generic_bytes(),
            "image/heif",
            ImageInfo("HEIF", 64, 48, 1, "RGB", 1, bit_depth=8),
        ),
    ],
    ids=["jpeg", "png", "webp", "gif", "tiff", "heic", "heif"],
)
def test_valid_image_is_accepted_with_its_facts(
    inspect: Inspect, data: bytes, content_type: str, info: ImageInfo
) -> None:
    assert verdict(inspect(data)) == (None, content_type, info)


def test_progressive_jpeg_is_accepted(inspect: Inspect) -> None:
    result = inspect(images.jpeg_bytes(300, 200, progressive=True))
    assert result.image == ImageInfo("JPEG", 300, 200, 1, "RGB", 1, bit_depth=8)


def test_grayscale_mode_is_reported(inspect: Inspect) -> None:
    result = inspect(images.png_bytes(mode="L"))
    assert result.image is not None
    assert result.image.mode == "L"


def test_exif_orientation_is_reported_and_size_is_as_stored(inspect: Inspect) -> None:
    result = inspect(images.jpeg_with_orientation(6, width=64, height=48))
    assert result.image == ImageInfo("JPEG", 64, 48, 6, "RGB", 1, bit_depth=8, dpi=(72.0, 72.0))


def test_heic_orientation_is_applied_by_the_decoder(inspect: Inspect) -> None:
    # libheif rotates while decoding, so the facts describe the upright picture.
    result = inspect(images.heic_bytes(64, 48, orientation=6))
    assert result.image == ImageInfo("HEIF", 48, 64, 1, "RGB", 1, bit_depth=8)


@pytest.mark.parametrize("invalid", [0, 9, 300])
def test_out_of_range_orientation_counts_as_upright(inspect: Inspect, invalid: int) -> None:
    result = inspect(images.jpeg_with_orientation(invalid))
    assert result.image is not None
    assert result.image.orientation == 1


def test_animated_gif_decodes_every_frame(inspect: Inspect) -> None:
    result = inspect(images.gif_bytes(frames=3))
    assert verdict(result) == (
        None,
        "image/gif",
        ImageInfo("GIF", 64, 48, 1, "P", 3, animated=True, bit_depth=8),
    )


def test_mpo_is_a_jpeg_with_two_frames(inspect: Inspect) -> None:
    result = inspect(images.mpo_bytes())
    assert verdict(result) == (
        None,
        "image/jpeg",
        ImageInfo("MPO", 64, 48, 1, "RGB", 2, animated=True, bit_depth=8),
    )


# --- limits from the header ---------------------------------------------------------


def test_decompression_bomb_is_too_large_before_decoding(inspect: Inspect) -> None:
    # 400 MP, far beyond Pillow's 2x bomb threshold: DecompressionBombError at open.
    assert inspect(images.bomb_png()) == Inspection(RejectionReason.IMAGE_TOO_LARGE)


def test_pixels_just_over_the_limit_are_too_large(inspect: Inspect) -> None:
    # Between the limit and twice it Pillow only warns: the warning must still reject.
    limits = ImageLimits(ALLOWED, max_pixels=64 * 48 - 1, max_frames=1)
    assert inspect(images.jpeg_bytes(64, 48), limits).reason is RejectionReason.IMAGE_TOO_LARGE


def test_pixels_exactly_at_the_limit_are_accepted(inspect: Inspect) -> None:
    limits = ImageLimits(ALLOWED, max_pixels=64 * 48, max_frames=1)
    assert inspect(images.jpeg_bytes(64, 48), limits).reason is None


def test_a_later_frame_over_the_pixel_limit_is_too_large(inspect: Inspect) -> None:
    data = images.tiff_bytes(10, 10, extra_pages=[(2000, 1000)])
    limits = ImageLimits(ALLOWED, max_pixels=1_000_000, max_frames=5)
    assert inspect(data, limits) == Inspection(RejectionReason.IMAGE_TOO_LARGE)


def test_more_frames_than_allowed_is_rejected(inspect: Inspect) -> None:
    limits = ImageLimits(ALLOWED, max_pixels=10**6, max_frames=2)
    assert inspect(images.gif_bytes(frames=3), limits) == Inspection(
        RejectionReason.TOO_MANY_FRAMES
    )


def test_frames_exactly_at_the_limit_are_accepted(inspect: Inspect) -> None:
    limits = ImageLimits(ALLOWED, max_pixels=10**6, max_frames=3)
    assert inspect(images.gif_bytes(frames=3), limits).reason is None


@pytest.mark.parametrize(("max_pixels", "max_frames"), [(0, 1), (1, 0)])
def test_limits_must_be_positive(max_pixels: int, max_frames: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ImageLimits(ALLOWED, max_pixels=max_pixels, max_frames=max_frames)


# --- decoding -----------------------------------------------------------------------


# The JPEG cases below go through the DCT-scaled (draft) decode: it must still raise.


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_truncated_jpeg_is_corrupt(inspect: Inspect, progressive: bool) -> None:
    data = images.truncated_jpeg(progressive=progressive)
    assert inspect(data) == Inspection(RejectionReason.CORRUPT_IMAGE)


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_corrupt_jpeg_scan_data_is_corrupt(inspect: Inspect, progressive: bool) -> None:
    data = images.corrupt_jpeg(progressive=progressive)
    assert inspect(data) == Inspection(RejectionReason.CORRUPT_IMAGE)


def test_verify_alone_would_have_passed_the_broken_jpegs() -> None:
    """Why inspect_path decodes: Pillow's verify() sees neither problem."""
    for data in (images.truncated_jpeg(), images.corrupt_jpeg()):
        with Image.open(io.BytesIO(data)) as im:
            im.verify()


@pytest.mark.parametrize(
    "factory",
    [images.png_bytes, images.gif_bytes, images.webp_bytes, images.tiff_bytes, images.heic_bytes],
    ids=["png", "gif", "webp", "tiff", "heic"],
)
def test_truncated_image_of_each_format_is_corrupt(
    inspect: Inspect, factory: Callable[[], bytes]
) -> None:
    data = factory()
    assert inspect(data[: len(data) * 3 // 4]) == Inspection(RejectionReason.CORRUPT_IMAGE)


def test_truncated_image_is_corrupt_even_if_pillow_was_told_to_load_truncated_images(
    inspect: Inspect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert inspect(images.truncated_jpeg()).reason is RejectionReason.CORRUPT_IMAGE
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored afterwards


def test_pillow_pixel_limit_is_restored_after_inspection(inspect: Inspect) -> None:
    before = Image.MAX_IMAGE_PIXELS
    inspect(images.jpeg_bytes())
    assert before == Image.MAX_IMAGE_PIXELS


def test_missing_file_raises_instead_of_rejecting(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        inspect_path(tmp_path / "gone.jpg", LIMITS)


# --- robustness ---------------------------------------------------------------------

_MAGICS = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic",
)
_SEEDS = (
    images.jpeg_bytes(),
    images.jpeg_bytes(progressive=True),
    images.png_bytes(),
    images.gif_bytes(frames=2),
    images.webp_bytes(),
    images.tiff_bytes(),
)


@st.composite
def _mutated_image(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(1, len(data)))])


_ANY_BYTES = st.one_of(
    st.binary(max_size=512),
    st.builds(bytes.__add__, st.sampled_from(_MAGICS), st.binary(max_size=512)),
    _mutated_image(),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=_ANY_BYTES)
def test_arbitrary_bytes_always_give_an_inspection(inspect: Inspect, data: bytes) -> None:
    result = inspect(data)
    assert isinstance(result, Inspection)
    accepted = result.reason is None
    assert accepted == (result.content_type is not None) == (result.image is not None)
