"""boto3 clients, created on first use and cached per endpoint (never at import: cold start)."""
from __future__ import annotations

import functools

from chalicelib.platform.settings import get_settings


@functools.lru_cache(maxsize=8)
def _client(service: str, endpoint: str | None, region: str):
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5,
                    retries={"max_attempts": 4, "mode": "standard"})
    return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=region,
                                          config=config)


def sesv2():
    settings = get_settings()
    return _client("sesv2", settings.ses_endpoint, settings.region)


def ssm():
    settings = get_settings()
    return _client("ssm", None, settings.region)


def sqs():
    settings = get_settings()
    return _client("sqs", None, settings.region)


def cloudwatch():
    settings = get_settings()
    return _client("cloudwatch", None, settings.region)


def sns():
    settings = get_settings()
    return _client("sns", None, settings.region)


def apigateway():
    settings = get_settings()
    return _client("apigateway", None, settings.region)


def logs():
    settings = get_settings()
    return _client("logs", None, settings.region)
