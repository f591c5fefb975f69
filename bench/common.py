"""Shared benchmark plumbing: a private local stack, and counting AWS calls per operation."""
from __future__ import annotations

import contextlib
import json
import os
import statistics
from collections import Counter
from pathlib import Path

from devstack.servers import SAFE_AWS_ENV, DynamoDBLocal, SesServer, free_port

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def local_stack():
    """DynamoDB Local (in memory) and the SES server on free ports, tables created."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**SAFE_AWS_ENV, **config["environment_variables"],
           **config["stages"]["local"]["environment_variables"],
           "ESO_DYNAMODB_PORT": str(free_port()), "ESO_SES_PORT": str(free_port()),
           "ESO_APP_PORT": str(free_port()), "ESO_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    dynamodb = DynamoDBLocal(int(env["ESO_DYNAMODB_PORT"])).start()
    ses = SesServer(int(env["ESO_SES_PORT"])).start()
    try:
        from chalicelib import tables

        tables.create_missing()
        yield env
    finally:
        ses.stop()
        dynamodb.stop()


class AwsCalls:
    """Counts every AWS API call made through botocore, by service and operation."""

    def __init__(self):
        self.calls: Counter = Counter()
        self._original = None

    def __enter__(self):
        from botocore.client import BaseClient

        self._original = original = BaseClient._make_api_call
        calls = self.calls

        def counting(client, operation_name, api_params):
            calls[(client.meta.service_model.service_name, operation_name)] += 1
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = counting
        return self

    def __exit__(self, *exc):
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original

    def reset(self):
        self.calls.clear()

    def count(self, service: str) -> int:
        return sum(n for (svc, _), n in self.calls.items() if svc == service)

    def by_operation(self, service: str) -> dict:
        return {op: n for (svc, op), n in self.calls.items() if svc == service}


def percentiles(samples_ms: list) -> tuple:
    ordered = sorted(samples_ms)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]
