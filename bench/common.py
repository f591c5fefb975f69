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
def local_stack(ses: bool = True, log_level: str = "WARNING"):
    """DynamoDB Local (in memory) and, if asked, the SES server on free ports, with the local
    stage's environment applied (and restored after) and the tables created."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**SAFE_AWS_ENV, **config["environment_variables"],
           **config["stages"]["local"]["environment_variables"],
           "ESO_DYNAMODB_PORT": str(free_port()), "ESO_SES_PORT": str(free_port()),
           "ESO_APP_PORT": str(free_port()), "ESO_LOG_LEVEL": log_level}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    servers = [DynamoDBLocal(int(env["ESO_DYNAMODB_PORT"])).start()]
    try:
        if ses:
            servers.append(SesServer(int(env["ESO_SES_PORT"])).start())
        from chalicelib.ops import tables

        tables.create_missing()
        yield env
    finally:
        for server in reversed(servers):
            server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
