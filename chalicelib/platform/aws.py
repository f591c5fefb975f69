"""boto3 clients, created on first use and cached per endpoint (never at import: cold start).

Every botocore session of the process — the one under these clients' boto3 session, and the
one PynamoDB table connections use per thread (platform/models.py, platform/dynamo.py): one
for all tables — reads botocore's data files through one shared loader: the DynamoDB service
model, the endpoint rules and the list of services are parsed once per container, not once
per table (parsing them took 0.1–0.4 s of a table's first use).
"""
from __future__ import annotations

import functools
import threading

from chalicelib.platform.settings import get_settings


@functools.lru_cache(maxsize=1)
def _loader():
    from botocore.loaders import create_loader

    return create_loader()


def botocore_session():
    """A new botocore session reading its data through the process's shared loader. (A session
    is not shared between threads, as PynamoDB keeps one per thread; the loader only caches
    what it parsed, as it does for all the clients of one session.)"""
    from botocore.session import get_session

    session = get_session()
    session.register_component("data_loader", _loader())
    return session


_creating = threading.Lock()


@functools.lru_cache(maxsize=1)
def _boto3_session():
    """The process's one boto3 session (boto3 adds its data folder to the loader it is given:
    once, not once per client)."""
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())


@functools.lru_cache(maxsize=8)
def _client(service: str, endpoint: str | None, region: str):
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5,
                    retries={"max_attempts": 4, "mode": "standard"})
    with _creating:  # a boto3 session is not safe to use from two threads at once
        return _boto3_session().client(service, endpoint_url=endpoint, region_name=region,
                                       config=config)


_thread = threading.local()


def share_session(connection) -> None:
    """Before a PynamoDB connection makes its client (its first call), give it this thread's
    botocore session, shared by every table and reading through the shared loader (PynamoDB
    would make a session, with a loader, of its own). A connection whose client is made
    needs no session: a thread serving one request makes none."""
    local = connection._local
    if connection._client is None and getattr(local, "session", None) is None:
        session = getattr(_thread, "session", None)
        if session is None:
            session = _thread.session = botocore_session()
        local.session = session


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
