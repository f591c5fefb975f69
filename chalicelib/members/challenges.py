"""Short-lived, single-use steps of signing in: WebAuthn challenges and the second step a
password sign-in waits in when the member has turned on two-step sign-in.

Each value is 256 random bits handed to the page; the table keeps only its SHA-256, the
purpose, and a keyed hash of the browser (its visitor cookie) or the session it was issued to,
so a value copied into another browser is refused. Spending one is a conditional delete: of two
requests with the same value, one wins. Expired items count as absent (TTL deletion is late).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.members.models import Challenge
from chalicelib.platform.crypto import new_token, sha256_hex, sign
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import RateLimitedError, ValidationError

PASSKEY_REGISTRATION = "passkey_registration"
PASSKEY_SIGN_IN = "passkey_sign_in"
SECOND_FACTOR = "second_factor"
TTL = timedelta(minutes=5)
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # what new_token(32) makes, and nothing else


def binding_of(browser: str | None) -> str:
    """How an item names the browser or session it belongs to: a keyed hash, never the value."""
    return sign("challenge-binding", browser or "")


def issue(purpose: str, browser: str | None, now: datetime, member_id: str | None = None,
          ttl: timedelta = TTL) -> str:
    """A new value for ``purpose``, bound to ``browser``; returned once, stored as a hash."""
    value = new_token(32)
    item = Challenge(sha256_hex(value), purpose=purpose, binding=binding_of(browser),
                     member_id=member_id, created_at=now, expires_at=now + ttl)
    with storage_errors():
        item.save(condition=Challenge.challenge_hash.does_not_exist())
    return value


def expired(message: str, field: str) -> ValidationError:
    return ValidationError(message, code="invalid_challenge", field=field)


def live(value: str, purpose: str, browser: str | None, now: datetime,
         field: str = "token", message: str = "this step has expired; start again") -> Challenge:
    """The stored item of a well-formed, known, unexpired value of ``purpose`` that was issued
    to this browser."""
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        raise expired(message, field)
    with storage_errors():
        try:
            item = Challenge.get(sha256_hex(value), consistent_read=True)
        except Challenge.DoesNotExist:
            item = None
    if (item is None or item.purpose != purpose or item.expires_at <= now
            or item.binding != binding_of(browser)):
        raise expired(message, field)
    return item


def spend(item: Challenge, field: str = "token",
          message: str = "this step has expired; start again") -> None:
    """Delete the item; only one of several requests spending it succeeds."""
    try:
        with storage_errors():
            item.delete(condition=Challenge.challenge_hash.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            raise expired(message, field) from None
        raise


def take(value: str, purpose: str, browser: str | None, now: datetime, field: str,
         message: str) -> Challenge:
    """``live`` and ``spend`` in one: the value works once."""
    item = live(value, purpose, browser, now, field, message)
    spend(item, field, message)
    return item


def count_attempt(item: Challenge, limit: int) -> None:
    """Count one try at this step (an atomic ADD under a condition); past ``limit`` tries the
    step is used up and the member starts again."""
    try:
        with storage_errors():
            item.update(actions=[Challenge.attempts.add(1)],
                        condition=Challenge.challenge_hash.exists() & (Challenge.attempts < limit))
    except UpdateError as exc:
        if condition_failed(exc):
            raise RateLimitedError("Too many wrong codes for this sign-in; sign in again with "
                                   "your password.", retry_after=1) from None
        raise


def forget_member(member_id: str) -> None:
    """Delete every outstanding step of a member (password changed, account erased)."""
    with storage_errors():
        hashes = [item.challenge_hash for item in Challenge.by_member.query(member_id)]
        with Challenge.batch_write() as batch:
            for challenge_hash in hashes:
                batch.delete(Challenge(challenge_hash))
