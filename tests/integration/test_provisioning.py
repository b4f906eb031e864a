"""filegate setup / doctor against SQLite and S3 + SQS on moto's server."""

from __future__ import annotations

import uuid
from pathlib import Path

from filegate.bootstrap.provisioning import doctor, setup
from filegate.config import Settings
from tests.support.moto_server import REGION, sqs_client

SECRET = "a-secret-that-is-long-enough"


def _settings(tmp_path: Path, moto_endpoint: str, **overrides: object) -> Settings:
    suffix = uuid.uuid4().hex[:10]
    aws = f"endpoint_url={moto_endpoint}&region={REGION}"
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "secret": SECRET,
        "store_url": f"s3://bucket-{suffix}/uploads/?{aws}",
        "queue_url": f"sqs://events-{suffix}?{aws}",
        "cors_origins": ("https://editor.example",),
        **overrides,
    }
    return Settings.model_validate(values)


async def test_doctor_names_every_missing_piece_then_setup_fixes_them(
    tmp_path: Path, moto_endpoint: str
) -> None:
    settings = _settings(tmp_path, moto_endpoint)

    before = await doctor(settings)

    failing = {finding.what for finding in before if not finding.ok}
    assert "database" in failing
    assert any("bucket" in what for what in failing)
    assert any("queue" in what for what in failing)

    await setup(settings)
    after = await doctor(settings)

    assert [f for f in after if not f.ok] == []
    checked = " ".join(f.what for f in after)
    for expected in ("database", "bucket", "CORS", "redrive", "queue policy", "events"):
        assert expected.lower() in checked.lower()


async def test_setup_is_idempotent(tmp_path: Path, moto_endpoint: str) -> None:
    settings = _settings(tmp_path, moto_endpoint)

    first = await setup(settings)
    second = await setup(settings)

    assert [step.what for step in first] == [step.what for step in second]
    assert all(step.changed is not True for step in second)
    assert all(f.ok for f in await doctor(settings))


async def test_doctor_reports_a_queue_without_redrive(tmp_path: Path, moto_endpoint: str) -> None:
    settings = _settings(tmp_path, moto_endpoint)
    await setup(settings)
    queue_name = settings.queue_url.split("://", 1)[1].split("?", 1)[0]
    sqs = sqs_client(moto_endpoint)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})

    findings = await doctor(settings)

    [redrive] = [f for f in findings if f.what == "redrive policy"]
    assert not redrive.ok
    assert "no RedrivePolicy" in redrive.detail


async def test_doctor_on_the_embedded_shape_checks_the_database(tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "secret": SECRET})
    await setup(settings)
    [database] = await doctor(settings)
    assert database.ok and database.what == "database"
