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


def test_indexes_are_added_one_at_a_time_as_dynamodb_requires(moto_stage, monkeypatch):
    """On DynamoDB (and DynamoDB Local with data on disk) a new index fills for a while, and
    another UpdateTable of the table meanwhile is refused: each addition waits for ACTIVE."""
    from botocore.exceptions import ClientError

    from chalicelib.promotions.models import Promotion

    monkeypatch.setattr("time.sleep", lambda seconds: None)
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName=Promotion.Meta.table_name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "promotion_id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "promotion_id",
                                               "AttributeType": "S"}])
    filling = {"reads_left": 0}
    events = Promotion._get_connection().connection.client.meta.events

    def refuse_while_filling(params, **kwargs):
        if filling["reads_left"]:
            raise ClientError({"Error": {"Code": "LimitExceededException", "Message":
                               "one index at a time"}}, "UpdateTable")
        filling["reads_left"] = 3          # the next three descriptions show it filling

    def show_filling(parsed, **kwargs):
        if filling["reads_left"] and parsed.get("Table", {}).get("GlobalSecondaryIndexes"):
            filling["reads_left"] -= 1
            parsed["Table"]["GlobalSecondaryIndexes"][-1]["IndexStatus"] = "CREATING"

    events.register("before-parameter-build.dynamodb.UpdateTable", refuse_while_filling)
    events.register("after-call.dynamodb.DescribeTable", show_filling)
    assert sorted(tables.add_missing_indexes()) == [f"{Promotion.Meta.table_name}/review-queue",
                                                    f"{Promotion.Meta.table_name}/send-activity"]
    assert filling["reads_left"] == 0
