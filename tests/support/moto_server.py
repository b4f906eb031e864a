"""moto's S3/SQS emulator on a free loopback port, plus per-test buckets.

moto does not check signatures, so any fake credentials work; they are still set in the
environment so that botocore's standard credential chain finds *something* and never reaches
for the developer's real AWS configuration.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
import pytest
from aiobotocore.session import AioSession, get_session
from botocore.config import Config

REGION = "us-east-1"
FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
UNSET_AWS_ENVIRONMENT = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")


@contextmanager
def fake_aws_environment() -> Iterator[None]:
    """Fake credentials and region in ``os.environ`` for the duration of the block."""
    with pytest.MonkeyPatch.context() as patch:
        for name in UNSET_AWS_ENVIRONMENT:
            patch.delenv(name, raising=False)
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield


@contextmanager
def running_moto_server() -> Iterator[str]:
    """Run moto's server on ``127.0.0.1`` (a free port); yield its base URL."""
    from moto.server import ThreadedMotoServer  # imported late: most test runs need none

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@functools.cache
def s3_client(endpoint: str) -> Any:
    """A synchronous botocore S3 client for test set-up (path-style, SigV4), one per endpoint."""
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    session = botocore.session.get_session()
    return session.create_client("s3", endpoint_url=endpoint, region_name=REGION, config=config)


@functools.cache
def aio_session() -> AioSession:
    """One aiobotocore session for the test run: it caches the service models it loads."""
    return get_session()


def fresh_bucket_name() -> str:
    """A bucket name no other test uses (lower-case, DNS-compatible)."""
    return f"test-{uuid.uuid4().hex[:20]}"


def create_bucket(endpoint: str) -> str:
    """Create an empty bucket with a fresh name on the emulator (with botocore) and return it."""
    name = fresh_bucket_name()
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@functools.cache
def sqs_client(endpoint: str) -> Any:
    """A synchronous botocore SQS client for test set-up, one per endpoint."""
    session = botocore.session.get_session()
    return session.create_client("sqs", endpoint_url=endpoint, region_name=REGION)


def create_queue(endpoint: str) -> str:
    """Create an SQS queue with a fresh name on the emulator and return its ARN."""
    sqs = sqs_client(endpoint)
    url = sqs.create_queue(QueueName=f"test-{uuid.uuid4().hex[:20]}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])
