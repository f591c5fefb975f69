"""Record every DynamoDB call the code makes, through botocore's own events.

Each dynamodb client created while ``recording()`` is active gets two handlers:
``provide-client-params`` notes the operation and its parameters (table, index, transaction
items), ``after-call`` adds how many items DynamoDB read for it (``ScannedCount`` of a Query or
Scan, the items of a GetItem or BatchGetItem). Models' cached connections are dropped on entry
and exit so every call goes through a recorded client. Used by the benchmarks and by the test
that checks the code's calls against the hand-written IAM policy.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field


@dataclass
class Call:
    operation: str
    params: dict
    items_read: int = 0

    def resources(self) -> list:
        """(IAM action, table[/index/name]) pairs this call needs."""
        if self.operation == "TransactWriteItems":
            pairs = []
            for item in self.params.get("TransactItems", []):
                for kind, action in (("Put", "PutItem"), ("Update", "UpdateItem"),
                                     ("Delete", "DeleteItem"),
                                     ("ConditionCheck", "ConditionCheckItem")):
                    if kind in item:
                        pairs.append((action, item[kind]["TableName"]))
            return pairs
        if self.operation in ("BatchGetItem", "BatchWriteItem"):
            return [(self.operation, table) for table in self.params.get("RequestItems", {})]
        table = self.params.get("TableName", "")
        if self.params.get("IndexName"):
            table = f"{table}/index/{self.params['IndexName']}"
        return [(self.operation, table)]


@dataclass
class Recording:
    calls: list = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()

    @property
    def count(self) -> int:
        return len(self.calls)

    @property
    def items_read(self) -> int:
        return sum(c.items_read for c in self.calls)

    def operations(self) -> list:
        return [c.operation for c in self.calls]


def _items_read(operation: str, parsed: dict) -> int:
    if operation in ("Query", "Scan"):
        return int(parsed.get("ScannedCount", parsed.get("Count", 0)))
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in parsed.get("Responses", {}).values())
    return 0


def _reset_connections() -> None:
    from chalicelib.ops.tables import ALL_MODELS
    from chalicelib.platform import dynamo

    dynamo._connections.clear()  # the cached connection of transactions

    for model in ALL_MODELS:
        model._connection = None
        model._connection_target = None


@contextlib.contextmanager
def recording():
    """Yield a Recording of every DynamoDB call made inside the block (all threads)."""
    import botocore.session

    record = Recording()
    original = botocore.session.Session.create_client

    def before(params, model, context, **_):
        call = Call(model.name, dict(params))
        context["eso_call"] = call
        record.calls.append(call)

    def after(parsed, model, context, **_):
        call = context.get("eso_call")
        if call is not None and isinstance(parsed, dict):
            call.items_read = _items_read(model.name, parsed)

    def create_client(self, service_name, *args, **kwargs):
        client = original(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            client.meta.events.register("provide-client-params.dynamodb", before)
            client.meta.events.register("after-call.dynamodb", after)
        return client

    botocore.session.Session.create_client = create_client
    _reset_connections()
    try:
        yield record
    finally:
        botocore.session.Session.create_client = original
        _reset_connections()
