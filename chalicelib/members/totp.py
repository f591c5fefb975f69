"""Two-step sign-in with an authenticator app (TOTP, RFC 6238), and its recovery codes.

- Setting it up needs the password; the new secret waits on the member item (sealed under the
  stage key) until a first code from the app confirms it. Then ten recovery codes are shown,
  once; only their SHA-256 (salted with the member id) is kept, and each works once.
- A code is accepted for the current 30-second step or the one before or after (clock drift),
  and once only: the step of the last accepted code is stored, and a later code must belong to
  a later step (a conditional write, so two requests with one code cannot both pass).
- Wrong codes are counted per member (5 per 15 minutes, 20 per day) and per sign-in step.
- Turning it off needs the password and a code (or a recovery code).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from chalicelib.members import challenges, notices, sessions
from chalicelib.members.accounts import confirm_password, get_member, note_device
from chalicelib.members.models import Member
from chalicelib.platform import clock, otp, ratelimit
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import seal, sign, unseal
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    ValidationError,
)
from chalicelib.platform.observability import get_logger

ISSUER = "eSmallOffice"
SETUP_TTL = timedelta(minutes=15)
_RECOVERY_LENGTH = otp.RECOVERY_LENGTH
_SEAL = "totp-secret"
TRIES_PER_SIGN_IN = 5
CODE_LIMITS = ((5, 15 * 60), (20, 24 * 3600))          # wrong codes per member: 15 min, 1 day
_TOTP_CODE = otp.TOTP_CODE
_clean = otp.clean


def _wrong_code() -> AuthenticationError:
    return AuthenticationError("that code is not right (or was already used)",
                               code="invalid_code", field="code")


def status(member: Member) -> dict:
    """Whether two-step sign-in is on, since when, and how many recovery codes are left."""
    return {"enabled": bool(member.totp_secret), "enabled_at": iso(member.totp_enabled_at),
            "recovery_codes_left": len(member.recovery_codes or ())}


def _code_key(member_id: str) -> str:
    return "second-factor:" + sign("rate-limit", member_id)


def code_attempt_allowed(member_id: str, now: datetime):
    """Count a code attempt before checking it; a right code takes its count back."""
    return ratelimit.counted_attempt(_code_key(member_id), CODE_LIMITS, now.timestamp(),
                                     "Too many wrong codes; try again later.")


def forget_counters(member_id: str) -> None:
    """Erasure: the member's code counters go with the account."""
    for _, window in CODE_LIMITS:
        ratelimit.forget(f"{_code_key(member_id)}:{window}", window)


def _unsealed(sealed: str | None) -> str | None:
    """A stored secret, or None when it cannot be read (sealed under a stage key since
    replaced): the member then signs in with a recovery code or a passkey and sets up again."""
    try:
        return unseal(_SEAL, sealed or "")
    except ValueError:
        get_logger().warning("a TOTP secret could not be unsealed")
        return None


_matching_step = otp.matching_step
_recovery_hash = otp.recovery_hash
_new_recovery_codes = otp.new_recovery_codes


def use_code(member: Member, code: str, now: datetime) -> str:
    """Check a code from the app, or a recovery code, and spend it: ``"totp"`` or
    ``"recovery_code"``. A code of a step already used, or a spent recovery code, is wrong."""
    cleaned = _clean(code)
    if not member.totp_secret:
        raise _wrong_code()
    if _TOTP_CODE.fullmatch(cleaned):
        step = _matching_step(_unsealed(member.totp_secret), cleaned, now)
        if step is None or (member.totp_last_step is not None and step <= member.totp_last_step):
            raise _wrong_code()
        later = (Member.totp_last_step.does_not_exist() | (Member.totp_last_step < step))
        _spend(member, [Member.totp_last_step.set(step)], later)
        return "totp"
    if len(cleaned) != _RECOVERY_LENGTH:
        raise _wrong_code()
    hashed = _recovery_hash(member.member_id, cleaned)
    _spend(member, [Member.recovery_codes.delete({hashed})], Member.recovery_codes.contains(hashed))
    # (the update leaves the member item as it is now stored)
    notices.send(member.email, "recovery_code_used", left=len(member.recovery_codes or ()))
    return "recovery_code"


def _spend(member: Member, actions: list, condition) -> None:
    try:
        with storage_errors():
            member.update(actions=actions,
                          condition=Member.totp_secret.exists() & condition)
    except UpdateError as exc:
        if condition_failed(exc):
            raise _wrong_code() from None
        raise


# --- the member's settings ---------------------------------------------------------------------


def begin_setup(member_id: str, password: str, now: datetime | None = None,
                source: str | None = None) -> dict:
    """A new secret for the member's app (not in force until a first code confirms it):
    ``{"secret", "otpauth_uri"}``."""
    now = now or clock.now()
    member = get_member(member_id)
    if member.totp_secret:
        raise ConflictError("two-step sign-in is already on", code="totp_already_enabled")
    confirm_password(member, password, now, source)
    secret = otp.random_secret()
    with storage_errors():
        member.update(actions=[Member.totp_pending_secret.set(seal(_SEAL, secret)),
                               Member.totp_pending_at.set(now)],
                      condition=Member.member_id.exists())
    return {"secret": secret, "otpauth_uri": otp.provisioning_uri(secret, member.email, ISSUER)}


def pending_setup(member: Member, now: datetime | None = None) -> dict | None:
    """The set-up waiting for its first code (secret and URI again), or None."""
    now = now or clock.now()
    if member.totp_secret or not member.totp_pending_secret or (
            member.totp_pending_at is None or now - member.totp_pending_at > SETUP_TTL):
        return None
    secret = _unsealed(member.totp_pending_secret)
    if secret is None:
        return None
    return {"secret": secret, "otpauth_uri": otp.provisioning_uri(secret, member.email, ISSUER)}


def confirm_setup(member_id: str, code: str, now: datetime | None = None) -> list:
    """Turn two-step sign-in on with a first code from the app; returns the recovery codes,
    shown this once."""
    now = now or clock.now()
    member = get_member(member_id)
    if member.totp_secret:
        raise ConflictError("two-step sign-in is already on", code="totp_already_enabled")
    if pending_setup(member, now) is None:
        raise ValidationError("start setting up two-step sign-in again: the secret expired",
                              code="totp_setup_expired")
    with code_attempt_allowed(member_id, now):
        step = _matching_step(_unsealed(member.totp_pending_secret), _clean(code), now)
        if step is None:
            raise _wrong_code()
    shown, hashes = _new_recovery_codes(member_id)
    try:
        with storage_errors():
            member.update(actions=[
                Member.totp_secret.set(member.totp_pending_secret),
                Member.totp_enabled_at.set(now), Member.totp_last_step.set(step),
                Member.recovery_codes.set(hashes),
                Member.totp_pending_secret.remove(), Member.totp_pending_at.remove(),
            ], condition=Member.totp_secret.does_not_exist()
                & (Member.totp_pending_secret == member.totp_pending_secret))
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConflictError("two-step sign-in was changed meanwhile; reload the page",
                                code="totp_already_enabled") from None
        raise
    notices.send(member.email, "totp_enabled")
    return shown


def off_actions() -> list:
    """The member-item actions that turn two-step sign-in off, and any set-up in progress."""
    return [Member.totp_secret.remove(), Member.totp_enabled_at.remove(),
            Member.totp_last_step.remove(), Member.recovery_codes.remove(),
            Member.totp_pending_secret.remove(), Member.totp_pending_at.remove()]


def disable(member_id: str, password: str, code: str, now: datetime | None = None,
            source: str | None = None) -> None:
    """Turn two-step sign-in off: the password and a code (or a recovery code) prove it is
    the member, not a stolen session."""
    now = now or clock.now()
    member = get_member(member_id)
    if not member.totp_secret:
        raise ConflictError("two-step sign-in is not on", code="totp_not_enabled")
    confirm_password(member, password, now, source)
    with code_attempt_allowed(member_id, now):
        use_code(member, code, now)
    with storage_errors():
        member.update(actions=off_actions(), condition=Member.member_id.exists())
    notices.send(member.email, "totp_disabled")


def replace_recovery_codes(member_id: str, password: str, now: datetime | None = None,
                           source: str | None = None) -> list:
    """Ten new recovery codes (shown this once); the old ones stop working."""
    now = now or clock.now()
    member = get_member(member_id)
    if not member.totp_secret:
        raise ConflictError("two-step sign-in is not on", code="totp_not_enabled")
    confirm_password(member, password, now, source)
    shown, hashes = _new_recovery_codes(member_id)
    with storage_errors():
        member.update(actions=[Member.recovery_codes.set(hashes)],
                      condition=Member.totp_secret.exists())
    notices.send(member.email, "recovery_codes_replaced")
    return shown


# --- the second step of a password sign-in -------------------------------------------------------


def complete_sign_in(token: str, code: str, browser: str | None,
                     user_agent: str | None = None, now: datetime | None = None) -> tuple:
    """The second step: the token a correct password earned (bound to this browser) and a
    code. Returns (member, session cookie value, max-age)."""
    now = now or clock.now()
    message = "this sign-in has expired; sign in again with your password"
    item = challenges.live(token, challenges.SECOND_FACTOR, browser, now, "token", message)
    challenges.count_attempt(item, TRIES_PER_SIGN_IN)
    member = get_member(item.member_id)
    if not member.totp_secret:  # turned off meanwhile: the password alone decides, afresh
        challenges.spend(item, "token", message)
        raise challenges.expired(message, "token")
    with code_attempt_allowed(member.member_id, now):
        use_code(member, code, now)
    challenges.spend(item, "token", message)
    cookie_value, max_age = sessions.create(member.member_id, user_agent, now)
    note_device(member, user_agent, now)
    return member, cookie_value, max_age
