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


def b64url_encode(raw: bytes) -> str:
    """Base64url without padding (as WebAuthn and compact tokens write bytes)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """The bytes of base64url text, padded or not (raises binascii.Error or ValueError)."""
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def sign(purpose: str, message: str) -> str:
    """A URL-safe HMAC-SHA256 of ``message``, domain-separated by ``purpose``."""
    mac = hmac.new(signing_key(), _bytes(f"{purpose}\x00{message}"), hashlib.sha256)
    return b64url_encode(mac.digest())


def equal(known: str, given) -> bool:
    """Constant-time comparison of a value the product made with one a request gave, whatever
    characters that holds (``hmac.compare_digest`` refuses non-ASCII text with TypeError)."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(known.encode("utf-8"), given.encode("utf-8", "surrogatepass"))


def verify_signature(purpose: str, message: str, signature: str) -> bool:
    return equal(sign(purpose, message), signature or "")


# --- sealing: secrets the product must read back (a member's TOTP secret) ----------------------

_SEAL_VERSION = "v1"


def _sealing_key(purpose: str) -> bytes:
    return hmac.new(signing_key(), _bytes(f"seal\x00{purpose}"), hashlib.sha256).digest()


def seal(purpose: str, plaintext: str) -> str:
    """``plaintext`` encrypted and authenticated (AES-256-GCM) under a key derived from the
    stage key for ``purpose``: a copy of the table alone does not reveal it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # only where a secret is sealed

    nonce = secrets.token_bytes(12)
    box = AESGCM(_sealing_key(purpose)).encrypt(nonce, _bytes(plaintext), _bytes(purpose))
    return _SEAL_VERSION + "." + b64url_encode(nonce + box)


def unseal(purpose: str, sealed: str) -> str:
    """The plaintext of ``seal(purpose, ...)``; ValueError if it was altered or sealed otherwise."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    version, _, body = (sealed or "").partition(".")
    if version != _SEAL_VERSION:
        raise ValueError("not a sealed value")
    raw = b64url_decode(body)
    try:
        plain = AESGCM(_sealing_key(purpose)).decrypt(raw[:12], raw[12:], _bytes(purpose))
    except InvalidTag:
        raise ValueError("the sealed value was altered or sealed under another key") from None
    return plain.decode("utf-8")
