"""The one place that reads the environment.

Settings are read when first needed, never at import: Chalice's test client applies a stage's
environment only during a request, and ``chalice package`` imports ``app.py`` with no stage
environment at all. ``get_settings()`` is cached per distinct environment, so it always
reflects the variables in force and costs a dictionary lookup on the hot path.
"""
from __future__ import annotations

import os
import re
from typing import NamedTuple, Optional

from chalicelib.platform.errors import SettingsError

# Environment variable names, in one place.
STAGE = "ESO_STAGE"
TABLE_PREFIX = "ESO_TABLE_PREFIX"
APP_PORT = "ESO_APP_PORT"
DYNAMODB_PORT = "ESO_DYNAMODB_PORT"
SES_PORT = "ESO_SES_PORT"
BASE_URL = "ESO_BASE_URL"
MAIL_FROM = "ESO_MAIL_FROM"
OPERATOR_EMAIL = "ESO_OPERATOR_EMAIL"
POSTAL_ADDRESS = "ESO_POSTAL_ADDRESS"
SES_CONFIGURATION_SET = "ESO_SES_CONFIGURATION_SET"
SECRET = "ESO_SECRET"
SECRET_PARAMETER = "ESO_SECRET_PARAMETER"
K_THRESHOLD = "ESO_K_THRESHOLD"
LOG_LEVEL = "ESO_LOG_LEVEL"
SEND_RATE = "ESO_SEND_RATE"
SEND_QUEUE = "ESO_SEND_QUEUE"
UNIFORM_ANSWER_MS = "ESO_UNIFORM_ANSWER_MS"
ASSETS_ORIGIN = "ESO_ASSETS_ORIGIN"
WEBHOOK_LOCAL_HOSTS = "ESO_WEBHOOK_LOCAL_HOSTS"
PROMOTION_FREQUENCY = "ESO_PROMOTION_FREQUENCY"

# https://, a DNS host name (labels of letters, digits and hyphens), an optional port.
_HTTPS_ORIGIN = re.compile(r"https://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                           r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::[0-9]{1,5})?")

_NAMES = (
    STAGE, TABLE_PREFIX, APP_PORT, DYNAMODB_PORT, SES_PORT, BASE_URL, MAIL_FROM,
    OPERATOR_EMAIL, POSTAL_ADDRESS, SES_CONFIGURATION_SET, SECRET, SECRET_PARAMETER,
    K_THRESHOLD, LOG_LEVEL, SEND_RATE, SEND_QUEUE, UNIFORM_ANSWER_MS, ASSETS_ORIGIN,
    WEBHOOK_LOCAL_HOSTS, PROMOTION_FREQUENCY, "AWS_REGION",
    "AWS_DEFAULT_REGION",
)

LOCAL_STAGE = "local"
DEFAULT_PORTS = {APP_PORT: 8000, DYNAMODB_PORT: 8100, SES_PORT: 8200}


class Settings(NamedTuple):
    """A stage's configuration, as read from the environment."""

    env: tuple

    def _get(self, name: str) -> Optional[str]:
        value = dict(self.env).get(name)
        return value if value not in (None, "") else None

    def _require(self, name: str) -> str:
        value = self._get(name)
        if value is None:
            raise SettingsError(f"missing required setting {name}")
        return value

    def _port(self, name: str) -> int:
        raw = self._get(name)
        if raw is None:
            return DEFAULT_PORTS[name]
        try:
            return int(raw)
        except ValueError as exc:
            raise SettingsError(f"{name} must be a port number, not {raw!r}") from exc

    @property
    def stage(self) -> str:
        return self._require(STAGE)

    @property
    def is_local(self) -> bool:
        return self._get(STAGE) == LOCAL_STAGE

    @property
    def table_prefix(self) -> str:
        return self._require(TABLE_PREFIX)

    @property
    def uniform_answer_s(self) -> float:
        """Registration and reset requests answer no sooner than this, whatever the address
        (so their timing tells nothing about it). Default 250 ms."""
        raw = self._get(UNIFORM_ANSWER_MS)
        try:
            return int(raw) / 1000 if raw is not None else 0.25
        except ValueError as exc:
            raise SettingsError(f"{UNIFORM_ANSWER_MS} must be milliseconds, not {raw!r}") from exc

    @property
    def region(self) -> str:
        return self._get("AWS_REGION") or self._get("AWS_DEFAULT_REGION") or "us-east-1"

    @property
    def dynamodb_endpoint(self) -> Optional[str]:
        """DynamoDB Local on the local stage; the AWS default endpoint elsewhere."""
        if self.is_local:
            return f"http://127.0.0.1:{self._port(DYNAMODB_PORT)}"
        return None

    @property
    def ses_endpoint(self) -> Optional[str]:
        if self.is_local:
            return f"http://127.0.0.1:{self._port(SES_PORT)}"
        return None

    @property
    def base_url(self) -> str:
        """The public origin of the site, used in links sent by e-mail and the CSRF check."""
        explicit = self._get(BASE_URL)
        if explicit:
            return explicit.rstrip("/")
        if self.is_local:
            return f"http://127.0.0.1:{self._port(APP_PORT)}"
        raise SettingsError(f"missing required setting {BASE_URL}")

    @property
    def assets_origin(self) -> Optional[str]:
        """The https origin the static files are served from (the CloudFront distribution of
        the packaged template, e.g. ``https://d1234.cloudfront.net``), without a trailing
        slash; unset: the pages' own origin serves them (``/assets/…``)."""
        raw = self._get(ASSETS_ORIGIN)
        if raw is None:
            return None
        # Only "https://" + a host name + an optional port: the value goes into the CSP, where
        # a wildcard ("https://*.cloudfront.net") would allow anyone's distribution.
        match = _HTTPS_ORIGIN.fullmatch(raw.rstrip("/"))
        if not match:
            raise SettingsError(f"{ASSETS_ORIGIN} must be an https origin such as "
                                f"https://static.example.org (no path), not {raw!r}")
        return match.group(0).lower()

    @property
    def mail_from(self) -> str:
        return self._require(MAIL_FROM)

    @property
    def operator_email(self) -> str:
        return self._require(OPERATOR_EMAIL)

    @property
    def postal_address(self) -> str:
        return self._require(POSTAL_ADDRESS)

    @property
    def ses_configuration_set(self) -> Optional[str]:
        return self._get(SES_CONFIGURATION_SET)

    @property
    def secret_parameter(self) -> Optional[str]:
        return self._get(SECRET_PARAMETER)

    @property
    def inline_secret(self) -> Optional[str]:
        """A secret given directly in the environment: accepted on the local stage only."""
        value = self._get(SECRET)
        if value is not None and not self.is_local:
            raise SettingsError(f"{SECRET} is for the local stage; use {SECRET_PARAMETER}")
        return value

    @property
    def k_threshold(self) -> int:
        raw = self._get(K_THRESHOLD)
        return int(raw) if raw else 10

    @property
    def send_rate_cap(self) -> Optional[float]:
        """At most this many messages per second for the whole stage, below the SES account's
        own rate (which applies anyway); unset: the account's rate."""
        raw = self._get(SEND_RATE)
        if raw is None:
            return None
        try:
            rate = float(raw)
        except ValueError as exc:
            raise SettingsError(f"{SEND_RATE} must be a number, not {raw!r}") from exc
        if rate <= 0:
            raise SettingsError(f"{SEND_RATE} must be positive")
        return rate

    @property
    def send_queue(self) -> Optional[str]:
        """The SQS queue of send batches; absent on the local stack, which sends in-process."""
        return self._get(SEND_QUEUE)

    @property
    def webhook_local_hosts(self) -> frozenset:
        """Host names or addresses a partner webhook may use although they are private or
        loopback, over plain http too: the local stack's and the tests' own receivers. Accepted
        on the local stage only (any other stage refuses it, so production keeps the rule)."""
        raw = self._get(WEBHOOK_LOCAL_HOSTS)
        if raw is None:
            return frozenset()
        if not self.is_local:
            raise SettingsError(f"{WEBHOOK_LOCAL_HOSTS} is for the local stage only")
        return frozenset(h.strip().lower() for h in raw.split(",") if h.strip())

    @property
    def promotion_frequency(self) -> str:
        """At most one partner promotion per ``day``, ``week`` or ``month``, for members who
        have not chosen (each member may choose their own). Default: ``week``."""
        raw = self._get(PROMOTION_FREQUENCY)
        if raw is None:
            return "week"
        if raw not in ("day", "week", "month"):
            raise SettingsError(f"{PROMOTION_FREQUENCY} must be day, week or month, not {raw!r}")
        return raw

    @property
    def log_level(self) -> str:
        return self._get(LOG_LEVEL) or "INFO"


_cache: dict = {}


def get_settings() -> Settings:
    """The settings for the environment in force now (cached per distinct environment)."""
    key = tuple((name, os.environ.get(name)) for name in _NAMES)
    settings = _cache.get(key)
    if settings is None:
        settings = _cache[key] = Settings(env=key)
    return settings
