"""Structured logging (Powertools), created on first use to keep it off the cold-start path."""
from __future__ import annotations

import functools

SERVICE = "eso"


@functools.lru_cache(maxsize=1)
def get_logger():
    from aws_lambda_powertools import Logger

    from chalicelib.settings import get_settings

    return Logger(service=SERVICE, level=get_settings().log_level)
