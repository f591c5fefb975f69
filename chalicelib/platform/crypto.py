"""Secrets, hashes and signatures: the stage's signing key, SHA-256 of tokens, HMACs.

Tokens and API keys are stored only as SHA-256 hashes; signatures (CSRF tokens, the consent
hash chain, unsubscribe links) use HMAC-SHA256 with the stage's signing key, which comes from
SSM Parameter Store on AWS (``ESO_SECRET_PARAMETER``) and from ``ESO_SECRET`` on the local stage.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from chalicelib.platform.errors import SettingsError
from chalicelib.platform.settings import get_settings


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def _bytes(value: str) -> bytes:
    # Any str hashes (a lone surrogate too): a value nobody issued simply matches nothing.
    return value.encode("utf-8", "surrogatepass")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(_bytes(value)).hexdigest()


@functools.lru_cache(maxsize=4)
def _key_from_parameter(name: str) -> bytes:
    from chalicelib.platform import aws  # only a deployed stage, once per container

    value = aws.ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value.encode("utf-8")


def signing_key() -> bytes:
    settings = get_settings()
    inline = settings.inline_secret
    if inline:
        return inline.encode("utf-8")
    if settings.secret_parameter:
        return _key_from_parameter(settings.secret_parameter)
    raise SettingsError("missing required setting ESO_SECRET_PARAMETER")


def sign(purpose: str, message: str) -> str:
    """A URL-safe HMAC-SHA256 of ``message``, domain-separated by ``purpose``."""
    mac = hmac.new(signing_key(), _bytes(f"{purpose}\x00{message}"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def verify_signature(purpose: str, message: str, signature: str) -> bool:
    return hmac.compare_digest(sign(purpose, message), signature or "")
