"""DynamoDB plumbing: failures as domain errors, transactions and their outcomes, retries.

Services wrap storage calls in ``storage_errors()``: throttling and unreachable endpoints
become ``UnavailableError`` (503 with Retry-After), never a stack trace or a 500.
Conditional-check failures are handled where they are expected, by the service that wrote
the condition, reading a cancelled transaction's outcome with ``cancellation_codes``,
``cancelled_by_condition`` or ``only_contention`` (the one place that parses them), and
retrying contention with ``retries`` (the one retry loop).
"""
from __future__ import annotations

import contextlib

from chalicelib.platform import clock
from chalicelib.platform.aws import share_session
from chalicelib.platform.errors import UnavailableError
from chalicelib.platform.settings import get_settings

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
        return UnavailableError("The database cannot be reached right now. Try again in a few seconds.",
                                retry_after=2)
    if _client_error_code(exc) in THROTTLING:
        return UnavailableError("The service is busy right now. Try again in a few seconds.",
                                retry_after=1)
    if only_contention(exc):
        # Another transaction held an item, or capacity ran out: nothing was written.
        return UnavailableError("The service is busy right now. Try again in a few seconds.",
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

    settings = get_settings()
    key = (settings.region, settings.dynamodb_endpoint)
    connection = _connections.get(key)
    if connection is None:
        connection = _connections[key] = Connection(region=key[0], host=key[1])
    share_session(connection)
    return TransactWrite(connection=connection)


def condition_failed(exc) -> bool:
    """True when a single conditional write (put, update, delete) failed its condition."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def cancellation_codes(exc) -> list:
    """The reason code of each item of a cancelled transaction, in write order (None where
    that item was not the cause)."""
    return [r.code if r is not None else None
            for r in (getattr(exc, "cancellation_reasons", None) or [])]


def cancelled_by_condition(exc) -> list:
    """Indexes of the items whose condition failed in a cancelled transaction (else [])."""
    return [i for i, code in enumerate(cancellation_codes(exc)) if code == "ConditionalCheckFailed"]


_CONTENTION = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def only_contention(exc, also: tuple = ()) -> bool:
    """True when every cause of the cancellation is contention (another transaction, or
    capacity) or one of ``also`` (e.g. a condition another writer just changed): nothing
    was written and trying again may succeed."""
    codes = {code for code in cancellation_codes(exc) if code and code != "None"}
    return bool(codes) and codes <= _CONTENTION | set(also)


def retries(attempts: int, base: float = 0.01, cap: float = 0.5):
    """``for attempt in retries(n):`` — the attempt numbers, with a jittered pause growing
    from ``base`` to ``cap`` seconds before each retry. The body ``break``s (or returns) on
    success; falling out of the loop means every attempt met contention."""
    for attempt in range(attempts):
        if attempt:
            clock.jitter_sleep(attempt - 1, base=base, cap=cap)
        yield attempt
