"""Table lifecycle for the local stack and tests (on AWS, infra/data.yaml creates them).

Every table of the product, from the models of the packages that own them.
"""
from __future__ import annotations

from chalicelib.ads.models import MODELS as ADS
from chalicelib.members.models import MODELS as MEMBERS
from chalicelib.operators.models import MODELS as OPERATORS
from chalicelib.partners.models import MODELS as PARTNERS
from chalicelib.platform.ratelimit import MODELS as PLATFORM
from chalicelib.promotions.models import MODELS as PROMOTIONS
from chalicelib.statistics.models import MODELS as STATISTICS

ALL_MODELS = (*MEMBERS, *PLATFORM, *STATISTICS, *PROMOTIONS, *ADS, *PARTNERS, *OPERATORS)


def create_missing(progress=lambda message: None) -> list:
    """Create every table that does not exist yet; returns the names created."""
    created = []
    for model in ALL_MODELS:
        if not model.exists():
            progress(f"creating table {model.Meta.table_name}")
            model.create_table(wait=True)
            created.append(model.Meta.table_name)
    return created


def add_missing_indexes(progress=lambda message: None) -> list:
    """Add to existing tables the global secondary indexes their models gained since the
    tables were made (a database kept by the local stack across versions); returns
    ``table/index`` names added. On AWS, infra/data.yaml does this."""
    added = []
    for model in ALL_MODELS:
        wanted = model._get_schema()["global_secondary_indexes"]
        if not wanted or not model.exists():
            continue
        client = model._get_connection().connection.client
        table = model.Meta.table_name
        _wait_for_indexes(client, table)  # one a previous start began may still be filling
        present = {index["IndexName"] for index in client.describe_table(TableName=table)
                   ["Table"].get("GlobalSecondaryIndexes", [])}
        for index in wanted:
            if index["index_name"] in present:
                continue
            progress(f"adding index {index['index_name']} to table {table}")
            client.update_table(
                TableName=table, AttributeDefinitions=index["attribute_definitions"],
                GlobalSecondaryIndexUpdates=[{"Create": {
                    "IndexName": index["index_name"],
                    # the hash key first, as DynamoDB requires (PynamoDB lists them unordered)
                    "KeySchema": sorted(index["key_schema"], key=lambda k: k["KeyType"]),
                    "Projection": index["projection"]}}])
            _wait_for_indexes(client, table)
            added.append(f"{table}/{index['index_name']}")
    return added


def _wait_for_indexes(client, table: str, timeout: float = 600, pause: float = 0.5) -> None:
    """Until the table and every index of it are ACTIVE: DynamoDB builds one new index of a
    table at a time (another UpdateTable meanwhile is refused with LimitExceededException), and
    the table itself stays ACTIVE while an index fills."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        described = client.describe_table(TableName=table)["Table"]
        if described["TableStatus"] == "ACTIVE" and all(
                index.get("IndexStatus") == "ACTIVE"
                for index in described.get("GlobalSecondaryIndexes", [])):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the indexes of table {table} are still being built")
        time.sleep(pause)
