"""The SDK's models read what the server sends, new fields and old servers alike."""

from __future__ import annotations

from typing import Any

from filegate_client import (
    Declaration,
    File,
    ImageInfo,
    PrintFitness,
    PrintSize,
    PrintVerdict,
    Rendition,
)

OLD_SERVER_FILE: dict[str, Any] = {
    "id": "f1",
    "state": "ready",
    "reason": None,
    "filename": "a.jpg",
    "content_type": "image/jpeg",
    "size": 10,
    "sha256": None,
    "image": {"width": 600, "height": 400, "format": "JPEG", "orientation": 6, "mode": "RGB"},
    "metadata": {},
    "created_at": "2026-05-01T12:00:00Z",
    "updated_at": "2026-05-01T12:00:00Z",
    "upload_expires_at": "2026-05-01T13:00:00Z",
}
IMAGE = {
    "width": 4032,
    "height": 3024,
    "display_width": 3024,
    "display_height": 4032,
    "format": "JPEG",
    "orientation": 6,
    "mode": "RGB",
    "frames": 1,
    "animated": False,
    "bit_depth": 8,
    "cmyk": False,
    "icc_embedded": True,
    "icc_description": "Display P3",
    "dpi": [72.0, 72.0],
    "captured_at": "2024-05-01T12:30:00+02:00",
    "camera_make": "Apple",
    "camera_model": "iPhone 15",
    "has_location": True,
}
NEW_SERVER_FILE = {
    **OLD_SERVER_FILE,
    "image": IMAGE,
    "placeholder": "LKO2?U%2Tw=w",
    "renditions": {"thumb": {"width": 240, "height": 320, "content_type": "image/webp", "size": 9}},
    "print": {"width_mm": 210.0, "height_mm": 297.0},
    "print_fitness": {"effective_dpi": 366, "verdict": "good"},
    "distance": 3,
    "retain_until": None,
    "pinned": False,
}


def test_a_new_server_file_gives_every_field() -> None:
    file = File.from_json(NEW_SERVER_FILE)
    assert file.image is not None
    assert (file.image.display_width, file.image.display_height) == (3024, 4032)
    assert (file.image.dpi, file.image.has_location) == ((72.0, 72.0), True)
    assert file.image.icc_description == "Display P3"
    assert file.placeholder == "LKO2?U%2Tw=w"
    assert file.renditions == {"thumb": Rendition(240, 320, "image/webp", 9)}
    assert file.print_size == PrintSize(210.0, 297.0)
    assert file.print_fitness == PrintFitness(366, PrintVerdict.GOOD)
    assert file.distance == 3


def test_an_old_server_file_leaves_the_new_fields_empty() -> None:
    file = File.from_json(OLD_SERVER_FILE)
    assert file.image == ImageInfo(
        width=600,
        height=400,
        format="JPEG",
        orientation=6,
        mode="RGB",
        display_width=400,
        display_height=600,
    )
    assert (file.placeholder, file.renditions, file.print_size) == (None, {}, None)
    assert (file.print_fitness, file.distance) == (None, None)


def test_to_json_gives_back_the_api_shape() -> None:
    shown = File.from_json(NEW_SERVER_FILE).to_json()
    for name in ("image", "placeholder", "renditions", "print", "print_fitness"):
        assert shown[name] == NEW_SERVER_FILE[name], name


def test_a_declaration_sends_its_print_size_only_when_given() -> None:
    plain = Declaration("a.jpg", "image/jpeg", 10)
    printed = Declaration("a.jpg", "image/jpeg", 10, print_size=PrintSize(100, 150))
    assert "print" not in plain.to_json()
    assert printed.to_json()["print"] == {"width_mm": 100, "height_mm": 150}
