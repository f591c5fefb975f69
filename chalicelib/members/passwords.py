"""argon2id password hashing (argon2-cffi) with OWASP's recommended parameters.

OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. Unknown addresses are
checked against a dummy hash so a failed login costs the same time either way.
"""
from __future__ import annotations

import functools

from chalicelib.platform.errors import ValidationError
from chalicelib.platform.text import check_text, text_problem

MIN_LENGTH = 10
MAX_LENGTH = 256
TIME_COST, MEMORY_COST_KIB, PARALLELISM = 2, 19 * 1024, 1


@functools.lru_cache(maxsize=1)
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_COST_KIB,
                          parallelism=PARALLELISM)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not a password: equalises the time of a failed lookup")


def check_rules(password: str, email: str) -> None:
    """At least 10 characters, text without control characters, not the e-mail address."""
    check_text(password, "password")
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"The password needs at least {MIN_LENGTH} characters. Choose a longer one.",
                              code="weak_password", field="password")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"The password can have at most {MAX_LENGTH} characters. Choose a shorter one.",
                              code="weak_password", field="password")
    lowered = password.strip().lower()
    if lowered == email.lower() or lowered == email.split("@")[0].lower():
        raise ValidationError("The password must not be your e-mail address. Choose another one.",
                              code="weak_password", field="password")
    check_guessable(password, email)


# Words an attacker would try first against this site's members.
SITE_WORDS = ("esmalloffice", "esmall", "small office", "eso", "office")
MIN_SCORE = 3  # zxcvbn: 3 means about 10^8 guesses or more


def check_guessable(password: str, email: str, name: str | None = None) -> None:
    """Refuse passwords that are common or easy to guess, with zxcvbn's estimate (computed
    here, on this machine: the password goes nowhere). Loaded on first use (~0.2 s)."""
    from zxcvbn import zxcvbn

    hints = [*SITE_WORDS, email, email.split("@")[0], *(name.split() if name else [])]
    # zxcvbn refuses more than 72 characters; a longer passphrase is judged by its start
    # (its estimate only grows with length). Width variants count as the plain letters.
    import unicodedata

    result = zxcvbn(unicodedata.normalize("NFKC", password)[:72], user_inputs=hints)
    if result["score"] >= MIN_SCORE:
        return
    warning = (result["feedback"].get("warning") or "").strip()
    advice = " ".join([warning or "This password is easy to guess.",
                       "Try three or four unrelated words, or a longer phrase only you would "
                       "think of."])
    raise ValidationError(advice, code="weak_password", field="password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always spends one argon2 verification."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if not isinstance(password, str) or text_problem(password):
        # No stored password is such text; spend the same time as a real check.
        _hasher().verify(_dummy_hash(), "not a password: equalises the time of a failed lookup")
        return False
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except VerificationError:
        return False
    except InvalidHashError:
        # A value that is no hash (a password made unusable) refuses at once: spend the time
        # of a real check, so it looks like any wrong password.
        _hasher().verify(_dummy_hash(), "not a password: equalises the time of a failed lookup")
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)
