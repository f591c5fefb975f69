"""Operator accounts: created and disabled from the command line, set up from a one-time link,
signed in with a password and then a second factor.

- ``add`` makes a pending operator and a set-up link valid 24 hours (only its SHA-256 is
  stored); adding a pending address again replaces its link and ends the sessions opened
  from the old one. An active or disabled address is refused.
- The set-up link asks for a password (argon2id, the members' strength rules), then a
  second factor; the operator is active only once one is enrolled.
- Signing in: a right password for an active operator with a second factor opens a
  10-minute step that asks for it; nothing else. Wrong passwords are counted per address and
  per network; unknown addresses cost the same time and say the same thing.
- ``disable`` ends every session of the operator at once; a disabled operator cannot sign in.
"""
from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.members import passwords
from chalicelib.members.accounts import client_network
from chalicelib.operators import sessions
from chalicelib.operators.models import Operator
from chalicelib.platform import clock, ratelimit
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import new_token, sha256_hex, sign
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from chalicelib.platform.settings import get_settings

SETUP_LINK_TTL = timedelta(hours=24)
FAILURES_PER_ADDRESS = (5, 15 * 60)
FAILURES_PER_NETWORK = (30, 15 * 60)
ACTIVE, PENDING, DISABLED = "active", "pending", "disabled"


def normalize_email(raw) -> str:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError("Give the operator's e-mail address.", field="email")
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationError("That is not an e-mail address.", field="email") from None


# Read in place of an operator when an address has none, so that a known and an unknown
# address cost the same reads (one Query, one GetItem). No operator has this id: real ones are
# "op_" and 32 hex digits.
_NOBODY = "op_nobody"


def _by_email(email: str) -> Operator | None:
    """The operator of an address, read consistently (the index only finds its id)."""
    with storage_errors():
        found = next(iter(Operator.by_email.query(email)), None)
        try:
            operator = Operator.get(found.operator_id if found else _NOBODY, consistent_read=True)
        except Operator.DoesNotExist:
            return None
    return operator if found else None


def get_operator(operator_id: str) -> Operator:
    if not isinstance(operator_id, str) or not 1 <= len(operator_id) <= 64:
        raise NotFoundError("There is no such operator.")
    with storage_errors():
        try:
            return Operator.get(operator_id, consistent_read=True)
        except Operator.DoesNotExist:
            raise NotFoundError("There is no such operator.") from None


def setup_url(operator_id: str, secret: str) -> str:
    """The link: the operator's id and a 256-bit secret (only the secret's SHA-256 is kept)."""
    return f"{get_settings().base_url}/admin/setup?token={operator_id}.{secret}"


def add(email: str, now: datetime | None = None) -> dict:
    """A pending operator (or a pending one's new link): ``{"operator_id", "setup_url"}``.
    The link is shown once."""
    now = now or clock.now()
    email = normalize_email(email)
    token = new_token(32)
    existing = _by_email(email)
    if existing is not None:
        if existing.status != PENDING:
            raise ConflictError(f"{email} is already an operator ({existing.status}).",
                                code="operator_exists", field="email")
        try:
            with storage_errors():
                # A new link starts set-up afresh: an app key the old link's holder saw
                # is forgotten with it.
                existing.update(actions=[
                    Operator.setup_hash.set(sha256_hex(token)),
                    Operator.setup_expires_at.set(now + SETUP_LINK_TTL),
                    Operator.totp_pending_secret.remove()],
                    condition=Operator.status == PENDING)
        except UpdateError as exc:
            if condition_failed(exc):
                raise ConflictError("The operator was set up meanwhile.",
                                    code="operator_exists", field="email") from None
            raise
        # Whoever used the old link is set up no further: its set-up session ends.
        sessions.revoke_all(existing.operator_id)
        return {"operator_id": existing.operator_id, "setup_url": setup_url(existing.operator_id, token)}
    operator = Operator("op_" + uuid.uuid4().hex, email=email, status=PENDING, created_at=now,
                        setup_hash=sha256_hex(token), setup_expires_at=now + SETUP_LINK_TTL)
    try:
        with storage_errors():
            operator.save(condition=Operator.operator_id.does_not_exist())
    except PutError as exc:  # pragma: no cover - 128 random bits
        if condition_failed(exc):
            raise ConflictError("Try again.", code="operator_exists") from None
        raise
    return {"operator_id": operator.operator_id, "setup_url": setup_url(operator.operator_id, token)}


def list_all() -> list:
    """Every operator (a handful: one Scan), oldest first."""
    with storage_errors():
        found = list(Operator.scan())
    found.sort(key=lambda o: o.created_at)
    return [{"operator_id": o.operator_id, "email": o.email, "status": o.status,
             "created_at": iso(o.created_at),
             "second_factors": second_factors(o)} for o in found]


def second_factors(operator: Operator) -> list:
    return (["passkey"] if operator.passkeys else []) + (["totp"] if operator.totp_secret else [])


def disable(operator_id: str, now: datetime | None = None) -> dict:
    """Disable an operator: it cannot sign in and its sessions end now. Idempotent."""
    now = now or clock.now()
    operator = get_operator(operator_id)
    with storage_errors():
        operator.update(actions=[Operator.status.set(DISABLED), Operator.disabled_at.set(now),
                                 Operator.setup_hash.remove(), Operator.setup_expires_at.remove()],
                        condition=Operator.operator_id.exists())
    ended = sessions.revoke_all(operator_id)
    return {"operator_id": operator_id, "email": operator.email, "status": DISABLED,
            "sessions_ended": ended}


# --- the set-up link -----------------------------------------------------------------------------


def _link_refused() -> ValidationError:
    return ValidationError("This set-up link is not valid any more. Ask for a new one.",
                           code="invalid_token", field="token")


def _split_link(token) -> tuple:
    if not isinstance(token, str) or len(token) > 128 or "." not in token:
        raise _link_refused()
    operator_id, _, secret = token.partition(".")
    if not operator_id.startswith("op_") or len(secret) < 40:
        raise _link_refused()
    return operator_id, secret


def operator_of_link(token: str, now: datetime | None = None) -> Operator:
    """The pending operator a live set-up link belongs to (the link is not spent)."""
    now = now or clock.now()
    operator_id, secret = _split_link(token)
    try:
        operator = get_operator(operator_id)
    except NotFoundError:
        raise _link_refused() from None
    if (operator.status != PENDING or not operator.setup_hash
            or not hmac.compare_digest(operator.setup_hash, sha256_hex(secret))
            or operator.setup_expires_at is None or now >= operator.setup_expires_at):
        raise _link_refused()
    return operator


def use_link(token: str, password: str, user_agent: str | None = None,
             now: datetime | None = None) -> tuple:
    """Spend the set-up link with the operator's new password; returns (operator, a ``setup``
    session's cookie value, max-age): next comes the second factor."""
    now = now or clock.now()
    operator = operator_of_link(token, now)
    passwords.check_rules(password, operator.email)
    try:
        with storage_errors():
            operator.update(actions=[
                Operator.password_hash.set(passwords.hash_password(password)),
                Operator.setup_hash.remove(), Operator.setup_expires_at.remove(),
                Operator.totp_pending_secret.remove()],
                condition=(Operator.setup_hash == operator.setup_hash) & (Operator.status == PENDING))
    except UpdateError as exc:
        if condition_failed(exc):
            raise _link_refused() from None
        raise
    value, max_age = sessions.create(operator.operator_id, sessions.SETUP, user_agent, now)
    return operator, value, max_age


# --- the password step of signing in -------------------------------------------------------------


def _invalid() -> AuthenticationError:
    return AuthenticationError("That e-mail address and password do not match an operator.",
                               code="invalid_credentials")


def password_step(email: str, password: str, source: str | None = None,
                  user_agent: str | None = None, now: datetime | None = None) -> tuple:
    """Check the password; returns (operator, a ``password`` session's cookie value, max-age)."""
    now = now or clock.now()
    stamp = now.timestamp()
    try:
        email = normalize_email(email)
    except ValidationError:
        email = ""
    address_key = "operator-login:" + sign("rate-limit", email)
    network_key = "operator-login-net:" + sign("rate-limit-network", client_network(source))
    limit, window = FAILURES_PER_NETWORK
    ratelimit.take(network_key, limit, window, now=stamp,
                   message="Too many sign-in attempts from your network; try again later.")
    limit, window = FAILURES_PER_ADDRESS
    ratelimit.take(address_key, limit, window, now=stamp,
                   message="Too many sign-in attempts for this address; try again later.")
    operator = _by_email(email) if email else None
    ok = passwords.verify_password(operator.password_hash if operator else None, password)
    if not ok or operator is None or operator.status != ACTIVE or not second_factors(operator):
        # An operator without a second factor cannot sign in, whatever the password.
        raise _invalid()
    ratelimit.hit(address_key, window, now=stamp, amount=-1)
    ratelimit.hit(network_key, FAILURES_PER_NETWORK[1], now=stamp, amount=-1)
    value, max_age = sessions.create(operator.operator_id, sessions.PASSWORD, user_agent, now)
    return operator, value, max_age
