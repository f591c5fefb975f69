"""Table creation and the settings-driven table names, against moto (no servers)."""
import boto3
import pytest
from moto import mock_aws

from chalicelib.members.models import Session
from chalicelib.ops import tables
from chalicelib.ops.tables import ALL_MODELS


@pytest.fixture
def moto_stage(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "dev")
    monkeypatch.setenv("ESO_TABLE_PREFIX", "eso-unit-")
    with mock_aws():
        yield


def test_create_missing_creates_every_table_once_with_ttl(moto_stage):
    created = tables.create_missing()
    assert sorted(created) == sorted("eso-unit-" + m.Meta.table_suffix for m in ALL_MODELS)
    assert tables.create_missing() == []
    client = boto3.client("dynamodb", region_name="us-east-1")
    ttl = client.describe_time_to_live(TableName="eso-unit-sessions")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_models_follow_the_table_prefix(moto_stage, monkeypatch):
    assert Session.Meta.table_name == "eso-unit-sessions"
    monkeypatch.setenv("ESO_TABLE_PREFIX", "eso-other-")
    assert Session.Meta.table_name == "eso-other-sessions"
