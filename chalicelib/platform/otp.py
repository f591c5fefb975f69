"""One-time codes, whoever signs in with them: TOTP (RFC 6238) steps and codes, and recovery
codes. Pure functions; storing secrets, spending steps and counting tries is the caller's.

pyotp is imported only where a code is made or checked.
"""
from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

from chalicelib.platform.crypto import sha256_hex

INTERVAL_S = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 symbols, no 0/o or 1/l
RECOVERY_LENGTH = 12                                    # 60 bits
TOTP_CODE = re.compile(r"[0-9]{6}")


def totp(secret: str):
    import pyotp  # only where a code is made or checked

    return pyotp.TOTP(secret, interval=INTERVAL_S)


def random_secret() -> str:
    import pyotp

    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    return totp(secret).provisioning_uri(name=name, issuer_name=issuer)


def step(now: datetime) -> int:
    return int(now.timestamp()) // INTERVAL_S


def clean(code) -> str:
    """A code as typed, without spaces or dashes, lower case; "" for anything not text."""
    if not isinstance(code, str):
        return ""
    return re.sub(r"[\s-]", "", code).lower()


def matching_step(secret: str | None, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), or None."""
    if secret is None or not TOTP_CODE.fullmatch(code):
        return None
    generator, current = totp(secret), step(now)
    for candidate in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(generator.generate_otp(candidate), code):
            return candidate
    return None


def recovery_hash(salt: str, code: str) -> str:
    """What is stored of a recovery code: SHA-256, salted with its owner's id."""
    return sha256_hex(f"recovery-code:{salt}:{code}")


def new_recovery_codes(salt: str) -> tuple:
    """(the codes as shown, grouped by four; their hashes)."""
    shown = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        shown.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return shown, {recovery_hash(salt, clean(code)) for code in shown}
