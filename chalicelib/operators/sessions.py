"""Operator sessions: the ``__Host-eso_admin`` cookie holds a random value, the table only its
SHA-256. Shorter-lived than members' sessions, and in their own table, so a member's cookie
never opens the console.

- A session that passed the password only (``password``), or that comes from a set-up link
  (``setup``), lasts 10 minutes and opens nothing but the second-factor pages. A set-up
  session lives only while its operator is pending, and a new set-up link ends it.
- A signed-in session ends after 15 minutes without a request, 8 hours after sign-in, at
  sign-out, and at once when its operator is disabled (every request also checks that the
  operator is still active).
- Dangerous actions need a second factor within the last 10 minutes (``recently_verified``).
- Each stage change issues a new cookie value (no session fixation).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple, Optional

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.operators.models import Operator, OperatorSession
from chalicelib.platform import clock
from chalicelib.platform.crypto import new_token, sha256_hex
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import AuthenticationError, RateLimitedError

PASSWORD = "password"
SETUP = "setup"
SIGNED_IN = "signed_in"
IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_LIFETIME = timedelta(hours=8)
STEP_LIFETIME = timedelta(minutes=10)
TOUCH_INTERVAL = timedelta(minutes=1)
RECENT = timedelta(minutes=10)
TRIES_PER_STEP = 5
MAX_USER_AGENT = 200


class OperatorContext(NamedTuple):
    operator_id: str
    email: str
    session_hash: str
    stage: str
    authenticated_at: Optional[datetime]
    challenge_hash: Optional[str]
    has_passkey: bool
    has_totp: bool


def create(operator_id: str, stage: str, user_agent: str | None = None,
           now: datetime | None = None) -> tuple:
    """A new session at ``stage``; returns (cookie value, max-age in seconds)."""
    now = now or clock.now()
    value = new_token(32)
    lifetime = ABSOLUTE_LIFETIME if stage == SIGNED_IN else STEP_LIFETIME
    absolute = now + lifetime
    session = OperatorSession(
        sha256_hex(value), operator_id=operator_id, stage=stage, created_at=now,
        last_seen_at=now, absolute_expires_at=absolute,
        authenticated_at=now if stage == SIGNED_IN else None,
        expires_at=min(absolute, now + IDLE_TIMEOUT),
        user_agent=(user_agent or "")[:MAX_USER_AGENT] or None)
    with storage_errors():
        session.save(condition=OperatorSession.session_hash.does_not_exist())
    return value, int(lifetime.total_seconds())


def _item(cookie_value: str | None) -> Optional[OperatorSession]:
    if not cookie_value or len(cookie_value) > 128:
        return None
    with storage_errors():
        try:
            return OperatorSession.get(sha256_hex(cookie_value), consistent_read=True)
        except OperatorSession.DoesNotExist:
            return None


def lookup(cookie_value: str | None, now: datetime | None = None) -> Optional[OperatorContext]:
    """The live session of a cookie and its operator, or None: expired, ended, or its operator
    no longer active (two reads: a disabled operator's sessions stop at once)."""
    now = now or clock.now()
    session = _item(cookie_value)
    if session is None or now >= session.absolute_expires_at or (
            now >= session.last_seen_at + IDLE_TIMEOUT):
        return None
    with storage_errors():
        try:
            operator = Operator.get(session.operator_id, consistent_read=True)
        except Operator.DoesNotExist:
            return None
    # A set-up session serves a pending operator only: once the operator is active (set up
    # from a newer link, say), an older set-up session opens nothing.
    if (operator.status, session.stage == SETUP) not in (("active", False), ("pending", True)):
        return None
    if session.stage == SIGNED_IN and now - session.last_seen_at >= TOUCH_INTERVAL:
        _touch(session, now)
    return OperatorContext(operator.operator_id, operator.email, session.session_hash,
                           session.stage, session.authenticated_at, session.challenge_hash,
                           bool(operator.passkeys), bool(operator.totp_secret))


def _touch(session: OperatorSession, now: datetime) -> None:
    try:
        with storage_errors():
            session.update(actions=[
                OperatorSession.last_seen_at.set(now),
                OperatorSession.expires_at.set(min(session.absolute_expires_at,
                                                   now + IDLE_TIMEOUT))],
                condition=OperatorSession.session_hash.exists())
    except UpdateError:
        pass  # ended between the read and the touch: the next request sees it gone


def recently_verified(context: OperatorContext, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return context.authenticated_at is not None and now - context.authenticated_at < RECENT


def mark_verified(session_hash: str, now: datetime | None = None) -> None:
    """A second factor was shown again in this session (before a dangerous action)."""
    with storage_errors():
        OperatorSession(session_hash).update(
            actions=[OperatorSession.authenticated_at.set(now or clock.now()),
                     OperatorSession.challenge_hash.remove(), OperatorSession.attempts.set(0)],
            condition=OperatorSession.session_hash.exists())


def count_attempt(session_hash: str) -> None:
    """One more try at this session's second factor; past ``TRIES_PER_STEP`` the step is over."""
    try:
        with storage_errors():
            OperatorSession(session_hash).update(
                actions=[OperatorSession.attempts.add(1)],
                condition=OperatorSession.session_hash.exists()
                & (OperatorSession.attempts < TRIES_PER_STEP))
    except UpdateError as exc:
        if condition_failed(exc):
            revoke_hash(session_hash)
            raise RateLimitedError("Too many wrong answers for this sign-in; sign in again "
                                   "with your password.", retry_after=1) from None
        raise


def set_challenge(session_hash: str, challenge_hash: str) -> None:
    with storage_errors():
        OperatorSession(session_hash).update(
            actions=[OperatorSession.challenge_hash.set(challenge_hash)],
            condition=OperatorSession.session_hash.exists())


def spend_challenge(session_hash: str, challenge_hash: str) -> bool:
    """Remove the session's WebAuthn challenge if it is ``challenge_hash``: one use only."""
    try:
        with storage_errors():
            OperatorSession(session_hash).update(
                actions=[OperatorSession.challenge_hash.remove()],
                condition=OperatorSession.challenge_hash == challenge_hash)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def promote(context: OperatorContext, user_agent: str | None = None,
            now: datetime | None = None) -> tuple:
    """The second factor passed: the step's session ends and a signed-in one begins (a new
    cookie value). Returns (cookie value, max-age)."""
    try:
        with storage_errors():
            OperatorSession(context.session_hash).delete(
                condition=OperatorSession.stage == context.stage)
    except DeleteError as exc:
        if condition_failed(exc):  # used by another request meanwhile
            raise AuthenticationError("This sign-in was already used; sign in again.",
                                      code="not_authenticated") from None
        raise
    return create(context.operator_id, SIGNED_IN, user_agent, now)


def revoke(cookie_value: str | None) -> None:
    if cookie_value and len(cookie_value) <= 128:
        revoke_hash(sha256_hex(cookie_value))


def revoke_hash(session_hash: str) -> None:
    with storage_errors():
        OperatorSession(session_hash).delete()


def revoke_all(operator_id: str) -> int:
    """End every session of an operator; returns how many."""
    with storage_errors():
        hashes = [s.session_hash for s in OperatorSession.by_operator.query(operator_id)]
        with OperatorSession.batch_write() as batch:
            for session_hash in hashes:
                batch.delete(OperatorSession(session_hash))
    return len(hashes)
