"""Facts, renditions, placeholder and hash from the verifying decode (in-process)."""

from __future__ import annotations

import io
from pathlib import Path

import blurhash
import imagehash
import pytest
from bench import corpus
from bench.images import photo
from PIL import Image, ImageOps

from filegate.domain.models import Inspection, RejectionReason, RenditionName
from filegate.imaging.inspect import ImageLimits, inspect_path
from filegate.imaging.phash import perceptual_hash
from filegate.imaging.renditions import RenditionSpec
from tests.support import images, photos

ALLOWED = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/tiff",
    "image/heic",
    "image/avif",
    "image/jxl",
)
LIMITS = ImageLimits(allowed_types=ALLOWED, max_pixels=50_000_000, max_frames=20)
SMALL = RenditionSpec(thumb_edge=40, preview_edge=200)


def run(tmp_path: Path, data: bytes, spec: RenditionSpec = SMALL, **limits: object) -> Inspection:
    source = tmp_path / "upload"
    source.write_bytes(data)
    folder = tmp_path / "renditions"
    folder.mkdir(exist_ok=True)
    return inspect_path(source, ImageLimits(**{**LIMITS.__dict__, **limits}), spec, folder)


def rendition(inspection: Inspection, name: RenditionName) -> Image.Image:
    (path,) = [r.path for r in inspection.renditions if r.rendition.name is name]
    with Image.open(path) as image:
        image.load()
        return image


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 14) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def quadrant_colours(image: Image.Image) -> tuple[tuple[int, ...], ...]:
    """The colour at the centre of each quadrant: top-left, top-right, bottom-left."""
    w, h = image.size
    rgb = image.convert("RGB")
    centres = ((w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4))
    return tuple(pixel(rgb, xy) for xy in centres)


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


# --- the defects ----------------------------------------------------------------------


def test_a_png_damaged_past_its_header_with_exif_after_the_data_is_corrupt(
    tmp_path: Path,
) -> None:
    assert run(tmp_path, photos.png_corrupt_after_header()).reason is RejectionReason.CORRUPT_IMAGE


def test_a_twelve_bit_jpeg_is_an_unsupported_format_not_corrupt(tmp_path: Path) -> None:
    assert run(tmp_path, photos.twelve_bit_jpeg()) == Inspection(RejectionReason.UNSUPPORTED_FORMAT)


def test_damage_the_decoder_works_around_is_corrupt_only_when_strict(tmp_path: Path) -> None:
    damaged = [d.data for d in corpus.damaged(per_kind=6, width=400, height=300)]
    strict = [run(tmp_path, d).reason for d in damaged]
    lenient = [run(tmp_path, d, strict=False).reason for d in damaged]
    warned = [i for i, r in enumerate(strict) if r is not None and lenient[i] is None]
    assert warned, "no file of the sample was refused only for a decoder warning"
    assert all(strict[i] is RejectionReason.CORRUPT_IMAGE for i in warned)
    assert all(lenient[i] is None or strict[i] is not None for i in range(len(damaged)))


def test_the_strict_decoder_catches_at_least_a_third_of_damaged_jpegs_and_no_valid_one(
    tmp_path: Path,
) -> None:
    """A floor on the catch rate the README reports (``python -m bench decoders``)."""
    damaged = list(corpus.damaged(per_kind=10, width=400, height=300))
    caught = sum(run(tmp_path, d.data).reason is RejectionReason.CORRUPT_IMAGE for d in damaged)
    assert caught / len(damaged) >= 0.33
    assert [run(tmp_path, o).reason for o in corpus.originals(400, 300)] == [None] * 5


# --- orientation ----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_every_exif_orientation_gives_display_size_and_oriented_renditions(
    tmp_path: Path, orientation: int, kind: str
) -> None:
    source = photos.quadrants(400, 300)
    data = photos.encoded(source, kind, exif=photos.exif(orientation).tobytes())
    result = run(tmp_path, data)
    assert result.image is not None
    assert (result.image.width, result.image.height) == (400, 300)
    assert result.image.orientation == orientation
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert (result.image.display_width, result.image.display_height) == expected.size
    for name in RenditionName:
        made = rendition(result, name)
        assert made.width / made.height == pytest.approx(expected.width / expected.height, 0.02)
        for got, want in zip(quadrant_colours(made), quadrant_colours(expected), strict=True):
            assert close(got, want), (name, got, want)


# --- colour ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_a_display_p3_picture_becomes_srgb_in_its_renditions(tmp_path: Path, kind: str) -> None:
    source = photos.quadrants(400, 300)
    data = photos.in_display_p3(source, kind)
    naive = Image.open(io.BytesIO(data)).convert("RGB")
    assert not close(quadrant_colours(naive)[1], photos.GREEN, 10)  # P3 numbers differ
    result = run(tmp_path, data)
    assert result.image is not None and result.image.icc_embedded
    assert result.image.icc_description and "P3" in result.image.icc_description
    preview = rendition(result, RenditionName.PREVIEW)
    want = (photos.RED, photos.GREEN, photos.BLUE)
    for got, expected in zip(quadrant_colours(preview), want, strict=True):
        assert close(got, expected, 12), (got, expected)
    assert "icc_profile" not in preview.info


def test_a_cmyk_jpeg_is_flagged_and_rendered_in_srgb(tmp_path: Path) -> None:
    result = run(tmp_path, photos.cmyk_jpeg())
    assert result.image is not None
    assert (result.image.cmyk, result.image.mode) == (True, "CMYK")
    preview = rendition(result, RenditionName.PREVIEW)
    assert preview.mode == "RGB"
    red, green, blue = pixel(preview, (10, 10))
    assert red > 180 and green < 90 and blue < 90


# --- facts ----------------------------------------------------------------------------


def test_a_sixteen_bit_png_reports_its_bit_depth(tmp_path: Path) -> None:
    deep = Image.linear_gradient("L").resize((64, 48)).convert("I").point(lambda v: v * 256)
    data = photos.encoded(deep.convert("I;16"), "PNG")
    result = run(tmp_path, data)
    assert result.image is not None and result.image.bit_depth == 16
    assert rendition(result, RenditionName.THUMB).mode == "RGB"


@pytest.mark.parametrize("kind", ["GIF", "WEBP"])
def test_animated_images_report_their_frames_and_render_the_first(
    tmp_path: Path, kind: str
) -> None:
    frames = [
        Image.new("RGB", (64, 48), colour) for colour in (photos.RED, photos.GREEN, photos.BLUE)
    ]
    data = photos.encoded(frames[0], kind, save_all=True, append_images=frames[1:], duration=100)
    result = run(tmp_path, data)
    assert result.image is not None
    assert (result.image.animated, result.image.frames) == (True, 3)
    assert close(pixel(rendition(result, RenditionName.THUMB), (5, 5)), photos.RED, 30)


def test_capture_time_camera_and_location_are_facts_but_never_in_renditions(
    tmp_path: Path,
) -> None:
    tags = photos.exif(
        gps=True, taken="2024:05:01 12:30:00", offset="+02:00", make="Apple", model="iPhone 15"
    )
    data = photos.encoded(photos.quadrants(), "JPEG", exif=tags.tobytes(), dpi=(300, 300))
    result = run(tmp_path, data)
    image = result.image
    assert image is not None
    assert image.captured_at == "2024-05-01T12:30:00+02:00"
    assert (image.camera_make, image.camera_model) == ("Apple", "iPhone 15")
    assert image.has_location is True
    assert image.dpi == (300.0, 300.0)
    for name in RenditionName:
        made = rendition(result, name)
        assert not made.getexif() and "exif" not in made.info and "xmp" not in made.info


def test_a_capture_time_without_offset_is_local_and_no_gps_means_no_location(
    tmp_path: Path,
) -> None:
    data = photos.encoded(
        photos.quadrants(), "JPEG", exif=photos.exif(taken="2023:12:24 18:00:05").tobytes()
    )
    image = run(tmp_path, data).image
    assert image is not None
    assert (image.captured_at, image.has_location) == ("2023-12-24T18:00:05", False)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (photos.encoded(photos.quadrants(), "AVIF"), "image/avif"),
        (photos.encoded(photos.quadrants(), "JXL"), "image/jxl"),
        (images.heic_bytes(400, 300), "image/heic"),
    ],
    ids=["avif", "jxl", "heic"],
)
def test_phone_formats_are_accepted_with_renditions(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    result = run(tmp_path, data)
    assert (result.reason, result.content_type) == (None, content_type)
    assert {r.rendition.name for r in result.renditions} == set(RenditionName)


# --- renditions, placeholder, hash ----------------------------------------------------


def test_renditions_fit_their_edges_and_are_never_enlarged(tmp_path: Path) -> None:
    big = run(tmp_path, photos.encoded(photos.quadrants(1000, 500), "JPEG"))
    sizes = {r.rendition.name: (r.rendition.width, r.rendition.height) for r in big.renditions}
    assert sizes == {RenditionName.THUMB: (40, 20), RenditionName.PREVIEW: (200, 100)}
    tiny = run(tmp_path, photos.encoded(photos.quadrants(30, 20), "PNG"))
    assert {(r.rendition.width, r.rendition.height) for r in tiny.renditions} == {(30, 20)}


def test_renditions_are_webp_by_default_and_jpeg_when_configured(tmp_path: Path) -> None:
    data = photos.encoded(photos.quadrants(), "PNG")
    webp = run(tmp_path, data)
    assert {r.rendition.content_type for r in webp.renditions} == {"image/webp"}
    assert rendition(webp, RenditionName.THUMB).format == "WEBP"
    jpeg = run(tmp_path, data, RenditionSpec(thumb_edge=40, preview_edge=200, format="jpeg"))
    assert rendition(jpeg, RenditionName.PREVIEW).format == "JPEG"
    for made in jpeg.renditions:
        assert made.rendition.size == Path(made.path).stat().st_size


def test_no_renditions_when_off_or_without_a_folder_but_placeholder_and_hash_still(
    tmp_path: Path,
) -> None:
    data = photos.encoded(photos.quadrants(), "JPEG")
    off = run(tmp_path, data, RenditionSpec(enabled=False))
    source = tmp_path / "upload"
    without = inspect_path(source, LIMITS)
    for result in (off, without):
        assert result.renditions == ()
        assert result.placeholder and result.perceptual_hash is not None


def test_a_rejected_file_gets_no_renditions(tmp_path: Path) -> None:
    result = run(tmp_path, images.truncated_jpeg())
    assert result.reason is RejectionReason.CORRUPT_IMAGE and result.renditions == ()
    assert list((tmp_path / "renditions").iterdir()) == []


@pytest.mark.parametrize("colour", [(200, 40, 40), (20, 120, 220), (250, 250, 250)])
def test_the_placeholder_decodes_to_the_pictures_average_colour(
    tmp_path: Path, colour: tuple[int, int, int]
) -> None:
    placeholder = run(
        tmp_path, photos.encoded(Image.new("RGB", (300, 200), colour), "PNG")
    ).placeholder
    assert placeholder is not None and blurhash.is_valid_blurhash(placeholder)
    decoded = blurhash.decode(placeholder, 16, 12)
    average = tuple(
        round(sum(channel) / len(channel)) for channel in zip(*decoded.getdata(), strict=True)
    )
    assert close(average, colour, 6), (average, colour)


def test_the_perceptual_hash_is_imagehashs_phash(tmp_path: Path) -> None:
    picture = photo(320, 240)  # photo-like: no two coefficients tie at the median
    for variant in (picture, picture.rotate(7), ImageOps.autocontrast(picture.convert("L"))):
        assert perceptual_hash(variant) == int(str(imagehash.phash(variant)), 16)


def test_near_duplicates_have_near_hashes_and_different_pictures_do_not(tmp_path: Path) -> None:
    original = photo(800, 600)
    smaller = run(tmp_path, photos.encoded(original.resize((400, 300)), "JPEG", quality=70))
    same = run(tmp_path, photos.encoded(original, "JPEG", quality=95))
    other = run(tmp_path, photos.encoded(photos.quadrants(800, 600), "JPEG"))
    assert same.perceptual_hash is not None and smaller.perceptual_hash is not None
    assert other.perceptual_hash is not None
    assert (same.perceptual_hash ^ smaller.perceptual_hash).bit_count() <= 6
    assert (same.perceptual_hash ^ other.perceptual_hash).bit_count() > 16
