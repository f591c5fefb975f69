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


def test_an_index_a_model_gained_is_added_to_a_table_made_before_it(moto_stage):
    from chalicelib.promotions.models import Promotion

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName=Promotion.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "promotion_id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "promotion_id",
                                               "AttributeType": "S"}])
    tables.create_missing()
    assert sorted(tables.add_missing_indexes()) == [f"{Promotion.Meta.table_name}/review-queue",
                                                    f"{Promotion.Meta.table_name}/send-activity"]
    assert tables.add_missing_indexes() == []
    described = client.describe_table(TableName=Promotion.Meta.table_name)["Table"]
    assert sorted(i["IndexName"] for i in described["GlobalSecondaryIndexes"]) == [
        "review-queue", "send-activity"]
