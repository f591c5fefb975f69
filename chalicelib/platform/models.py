"""The base of every PynamoDB model: a table whose name, endpoint and region follow the settings.

Table names, endpoint and region come from the settings when a table is first used, not at
import (see ``chalicelib.platform.settings``). Each table has a short ``suffix``; its full name
is the stage's ``ESO_TABLE_PREFIX`` + suffix, the same name ``infra/data.yaml`` gives it. Each
domain package owns the models of its tables (``<package>/models.py``, with a ``MODELS`` tuple).
"""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib.platform.aws import share_session
from chalicelib.platform.settings import get_settings


class _FromSettings:
    """A Meta attribute computed from the settings each time PynamoDB reads it."""

    def __init__(self, compute):
        self._compute = compute

    def __get__(self, obj, owner):
        return self._compute(owner)


def table_meta(suffix: str):
    class Meta:
        table_suffix = suffix
        table_name = _FromSettings(lambda meta: get_settings().table_prefix + meta.table_suffix)
        host = _FromSettings(lambda meta: get_settings().dynamodb_endpoint)
        region = _FromSettings(lambda meta: get_settings().region)
        billing_mode = "PAY_PER_REQUEST"
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 3

    return Meta


class BaseModel(Model):
    """A model whose connection follows the settings (table name, endpoint, region)."""

    class Meta:
        abstract = True

    @classmethod
    def _get_connection(cls):
        target = (cls.Meta.table_name, cls.Meta.host, cls.Meta.region)
        if cls.__dict__.get("_connection_target") != target:
            cls._connection = None
            cls._connection_target = target
        connection = super()._get_connection()
        share_session(connection.connection)
        return connection
