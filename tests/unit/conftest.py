"""The unit tests' stand-ins for AWS: DynamoDB (and SSM, SQS) in moto, mail in an outbox, time
on a fake clock.

``moto_world`` gives a test the dev stage's tables in moto (created once per test module, so a
test costs milliseconds), an empty outbox and a clock of its own. Tests share a module's tables:
each makes its own members, partners and promotions, and never relies on what another left.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import NamedTuple

import moto  # noqa: F401  (see below)
import pytest

# moto intercepts the calls of botocore sessions made after it is imported; a process keeps
# its sessions (one per thread for the tables, one for the boto3 clients), so it is imported
# when the unit tests are collected, before any test makes one: a unit test run together with
# tests that use DynamoDB Local still reaches moto, never an AWS endpoint.

UNIT_ENV = {
    "ESO_STAGE": "dev", "ESO_TABLE_PREFIX": "eso-unit-",
    "ESO_SECRET_PARAMETER": "/eso/unit/secret", "ESO_BASE_URL": "https://eso.example",
    "ESO_SEND_RATE": "1000", "ESO_MAIL_FROM": "eSO <no-reply@eso.example>",
    "ESO_POSTAL_ADDRESS": "1 Market Street, Springfield", "ESO_K_THRESHOLD": "10",
}
START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


def _parse_botocore_data_once() -> None:
    """botocore's DynamoDB, SQS and SSM models, parsed into the process's shared loader at
    collection: ``make mutants`` forks every run of a mutant from the process that collected
    the tests, which then parses none of them again."""
    from chalicelib.platform import aws

    for service in ("dynamodb", "sqs", "ssm"):
        aws.botocore_session().create_client(service, region_name="us-east-1",
                                             aws_access_key_id="unit",
                                             aws_secret_access_key="unit")


_parse_botocore_data_once()


class World(NamedTuple):
    outbox: object
    clock: object


@pytest.fixture(scope="module")
def moto_tables():
    """The dev stage's environment and its tables in moto, for one test module."""
    import boto3
    from moto import mock_aws

    from chalicelib.ops import tables

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in UNIT_ENV.items():
            patch.setenv(name, value)
        for name in ("ESO_SEND_QUEUE", "ESO_SECRET", "ESO_SES_CONFIGURATION_SET"):
            patch.delenv(name, raising=False)
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=UNIT_ENV["ESO_SECRET_PARAMETER"], Value="unit-test-secret-0123456789abcdef",
            Type="SecureString")
        tables.create_missing()
        yield


@pytest.fixture
def moto_world(moto_tables):
    """An empty outbox and a fake clock at 2026-12-01 09:00 UTC, over the module's tables."""
    from chalicelib.platform import clock, mail

    with mail.use_sender(mail.Outbox()) as outbox, clock.use(clock.FakeClock(START)) as fake:
        yield World(outbox, fake)


def _says(error, words: str) -> bool:
    """Whether the error's message says ``words`` in well-formed sentences: each begins with a
    capital (the first may begin with the field's name), none is shouted, and the last ends."""
    message = str(error)
    sentences = re.split(r"(?<=\.) ", message)
    first_ok = sentences[0][:1].isupper() or bool(
        getattr(error, "field", None) and sentences[0].startswith(error.field))
    return (words in message and first_ok and all(s[:1].isupper() for s in sentences[1:])
            and message.endswith((".", "…")) and "XX" not in message
            and not re.search(r"\b[A-Z]{2,} [A-Z]{2,}\b", message))


@pytest.fixture
def says():
    """``says(error, words)``: the message is made of full sentences and says ``words``.

    Messages are worded for people and may be reworded; tests pin the error's code and field
    exactly and, of its message, the words that carry the meaning."""
    return _says
