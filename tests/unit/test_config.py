"""Settings: URLs derived from the data folder; secrets refused unless safe (or dev mode)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from filegate.bootstrap.policies import api_settings
from filegate.config import (
    KNOWN_DEFAULT_SECRETS,
    MIN_SECRET_LEN,
    InsecureSecret,
    Settings,
    resolve_secret,
)
from filegate.domain.printing import PrintThresholds

GOOD_SECRET = "0123456789abcdef"
assert len(GOOD_SECRET) == MIN_SECRET_LEN


@pytest.fixture(autouse=True)
def no_filegate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read ``FILEGATE_*``: these tests see only what they pass."""
    for name in list(os.environ):
        if name.startswith("FILEGATE_"):
            monkeypatch.delenv(name)


def test_the_three_urls_are_derived_from_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    assert settings.database_url == f"sqlite:///{tmp_path}/filegate.db"
    assert settings.store_url == f"file://{tmp_path}/objects"
    assert settings.queue_url == "sql://"


def test_the_public_url_is_derived_from_host_and_port() -> None:
    assert Settings(host="0.0.0.0", port=9000).public_url == "http://0.0.0.0:9000"
    assert Settings(public_url="https://files.example/").public_url == "https://files.example"


def test_configured_urls_are_kept(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql://db/filegate",
        store_url="file:///srv/objects",
        queue_url="sql://uploads",
    )
    assert (settings.database_url, settings.store_url, settings.queue_url) == (
        "postgresql://db/filegate",
        "file:///srv/objects",
        "sql://uploads",
    )


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FILEGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FILEGATE_SECRET", GOOD_SECRET)

    settings = Settings()

    assert settings.data_dir == tmp_path
    assert resolve_secret(settings) == GOOD_SECRET


def test_a_good_secret_is_used() -> None:
    assert resolve_secret(Settings(secret=SecretStr(GOOD_SECRET))) == GOOD_SECRET


@pytest.mark.parametrize(
    "secret",
    [None, "", GOOD_SECRET[:-1], *sorted(KNOWN_DEFAULT_SECRETS)],
    ids=lambda s: repr(s),
)
def test_missing_short_or_default_secrets_are_refused(secret: str | None, tmp_path: Path) -> None:
    with pytest.raises(InsecureSecret):
        resolve_secret(
            Settings(data_dir=tmp_path, secret=None if secret is None else SecretStr(secret))
        )
    assert not (tmp_path / "dev-secret").exists()


def test_dev_mode_creates_a_private_secret_and_then_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, dev=True)

    first = resolve_secret(settings)
    second = resolve_secret(settings)

    kept = data_dir / "dev-secret"
    assert first == second == kept.read_text()
    assert len(first) >= len(GOOD_SECRET)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_dev_mode_prefers_a_configured_good_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, dev=True, secret=SecretStr(GOOD_SECRET))
    assert resolve_secret(settings) == GOOD_SECRET
    assert not (tmp_path / "dev-secret").exists()


def test_dev_mode_replaces_a_weak_secret_with_its_own(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, dev=True, secret=SecretStr("changeme"))
    secret = resolve_secret(settings)
    assert secret != "changeme"
    assert secret == (tmp_path / "dev-secret").read_text()


@pytest.mark.parametrize("content", ["", "\n", "short"])
def test_dev_mode_never_uses_an_empty_or_short_kept_secret(tmp_path: Path, content: str) -> None:
    # An empty file is what a crash between creating and writing it leaves behind.
    kept = tmp_path / "dev-secret"
    kept.write_text(content)
    kept.chmod(0o644)

    secret = resolve_secret(Settings(data_dir=tmp_path, dev=True))

    assert len(secret) >= len(GOOD_SECRET)
    assert kept.read_text() == secret
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_print_thresholds_default_to_300_and_150_and_reach_the_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert (settings.print_good_dpi, settings.print_low_dpi) == (300, 150)
    tuned = Settings(data_dir=tmp_path, print_good_dpi=240, print_low_dpi=120)
    assert api_settings(tuned).print_thresholds == PrintThresholds(240, 120)


@pytest.mark.parametrize(("good", "low"), [(150, 150), (150, 300), (0, -1), (300, 0)])
def test_print_thresholds_out_of_order_or_not_positive_are_refused(
    good: int, low: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FILEGATE_PRINT_GOOD_DPI", str(good))
    monkeypatch.setenv("FILEGATE_PRINT_LOW_DPI", str(low))
    with pytest.raises(ValueError, match="print_"):
        Settings()


def test_the_heartbeat_must_come_before_the_claim_runs_out(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="heartbeat_interval_seconds must be below"):
        Settings(data_dir=tmp_path, claim_timeout_seconds=5, heartbeat_interval_seconds=5)
    assert Settings(data_dir=tmp_path).heartbeat_interval_seconds < 10  # the defaults agree
