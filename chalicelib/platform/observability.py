"""Structured logs and metrics (Powertools for AWS Lambda), created on first use.

Logs are JSON lines with a ``correlation_id`` (the API Gateway request id, or the event's id in
queue and topic handlers). Metrics are CloudWatch embedded-metric-format (EMF) lines: counts of
registrations, verifications, sends, bounces, complaints and partner reports, flushed at the
end of each request or event. Neither ever carries an e-mail address, password, token, API key
or member id: callers pass names and counts only.
"""
from __future__ import annotations

import functools

from chalicelib.platform.settings import get_settings

SERVICE = "eso"
NAMESPACE = "eSO"


_log_stream: list = [None]  # None: Powertools' default (stdout)


def log_to(stream) -> None:
    """Where log lines go, set before the first one: the operator CLI sends them to stderr so
    that its stdout holds only its result (one JSON object with ``--json``)."""
    _log_stream[0] = stream


@functools.lru_cache(maxsize=1)
def get_logger():
    import logging

    from aws_lambda_powertools import Logger

    handler = logging.StreamHandler(_log_stream[0]) if _log_stream[0] is not None else None
    return Logger(service=SERVICE, level=get_settings().log_level, logger_handler=handler)


@functools.lru_cache(maxsize=1)
def _metrics():
    from aws_lambda_powertools import Metrics

    return Metrics(service=SERVICE, namespace=NAMESPACE)


_pending = [False]


def count(name: str, value: int = 1) -> None:
    """Add to a count metric of this request or event (flushed by ``flush_metrics``)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = _metrics()
    if not _pending[0]:
        metrics.add_dimension(name="stage", value=get_settings().stage)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    _pending[0] = True


def flush_metrics() -> None:
    """Write the pending metrics as one EMF line (nothing when nothing was counted)."""
    if _pending[0]:
        _pending[0] = False
        _metrics().flush_metrics()


def set_correlation_id(value: str | None) -> None:
    get_logger().set_correlation_id(value)
