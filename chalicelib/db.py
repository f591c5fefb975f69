"""The adapter between PynamoDB/botocore failures and domain errors.

Services wrap storage calls in ``storage_errors()``: throttling and unreachable endpoints
become ``UnavailableError`` (503 with Retry-After), never a stack trace or a 500.
Conditional-check failures are handled where they are expected, by the service that wrote
the condition.
"""
from __future__ import annotations

import contextlib

from chalicelib.errors import UnavailableError

THROTTLING = {
    # DynamoDB
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
    # SES v2, SQS, SSM
    "TooManyRequestsException", "LimitExceededException", "Throttling",
    "ServiceUnavailableException", "RequestThrottled", "ThrottlingError",
}


def _client_error_code(exc) -> str | None:
    cause = getattr(exc, "cause", None) or exc
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return getattr(exc, "cause_response_code", None)


def as_unavailable(exc: Exception) -> UnavailableError | None:
    """The domain error for a storage failure that a retry later may cure, else None."""
    from botocore.exceptions import BotoCoreError, ClientError

    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, BotoCoreError) and not isinstance(cause, ClientError):
        return UnavailableError("The database is unreachable right now; try again shortly.",
                                retry_after=2)
    if _client_error_code(exc) in THROTTLING:
        return UnavailableError("The service is busy right now; try again shortly.",
                                retry_after=1)
    reasons = {r.code for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None}
    if reasons and reasons <= {"TransactionConflict", "ThrottlingError",
                               "ProvisionedThroughputExceeded"}:
        # Another transaction held an item, or capacity ran out: nothing was written.
        return UnavailableError("The service is busy right now; try again shortly.",
                                retry_after=1)
    return None


@contextlib.contextmanager
def storage_errors():
    """Turn a throttled or unreachable AWS dependency (DynamoDB, SES, SQS) into a 503."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    try:
        yield
    except (PynamoDBException, BotoCoreError, ClientError) as exc:
        unavailable = as_unavailable(exc)
        if unavailable is None:
            raise
        raise unavailable from exc


_connections: dict = {}


def transaction():
    """A PynamoDB TransactWrite on the settings' endpoint and region.

    The connection (and its botocore client) is built once per endpoint and reused: a new one
    per transaction would load the DynamoDB service model again each time.
    """
    from pynamodb.connection import Connection
    from pynamodb.transactions import TransactWrite

    from chalicelib.settings import get_settings

    settings = get_settings()
    key = (settings.region, settings.dynamodb_endpoint)
    connection = _connections.get(key)
    if connection is None:
        connection = _connections[key] = Connection(region=key[0], host=key[1])
    return TransactWrite(connection=connection)


def cancelled_by_condition(exc) -> list:
    """Indexes of the items whose condition failed in a cancelled transaction (else [])."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [i for i, reason in enumerate(reasons)
            if reason is not None and reason.code == "ConditionalCheckFailed"]
