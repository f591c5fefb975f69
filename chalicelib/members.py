"""Members: registration, verification, login, password reset, consents, erasure.

No account enumeration: registering an address that already has an account answers exactly
like a new registration (that address gets an e-mail saying so instead), and a failed login
costs one argon2 verification and the same reads whether or not the address exists.
"""
from __future__ import annotations

from typing import NamedTuple

import contextlib
import random
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

from pynamodb.expressions.condition import size

from chalicelib import consent, db, mail, observability, passwords, ratelimit, sessions, stats
from chalicelib.consent import Provenance
from chalicelib.crypto import new_token, sha256_hex, sign
from chalicelib.db import storage_errors, transaction
from chalicelib.errors import (
    AuthenticationError, ForbiddenError, NotFoundError, RateLimitedError, UnavailableError,
    ValidationError,
)
from chalicelib.text import check_text
from chalicelib.models import ConsentEvent, EmailClaim, LaterRegistration, Member, Token

VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(hours=1)
LOGIN_FAILURES_ALLOWED = 5
LOGIN_WINDOW_S = 15 * 60
MAIL_PER_ADDRESS_PER_HOUR = 3
REGISTER_ATTEMPTS = 5
# Registrations of a not yet confirmed address kept beside the first; more are ignored (never
# replacing one, so a stranger cannot push the owner's out). A new link is mailed for another
# registration only when the live one is older than RESEND_AFTER: a burst gets one mail.
MAX_LATER_REGISTRATIONS = 4
RESEND_AFTER = timedelta(minutes=2)
MAX_DISPLAY_NAME = 80
# A reset request for a known address writes a token and calls SES; for an unknown one it reads
# one item. Both answer no sooner than this, so the time taken does not tell them apart.
RESET_MIN_SECONDS = 0.2

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")  # what new_token makes, and nothing else

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"


def _now(now):
    return now or datetime.now(timezone.utc)


def normalize_email(raw: str) -> str:
    """The canonical form of an address (syntax only, no network lookups), lower-cased."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or len(raw) > 254:
        raise ValidationError("enter a valid e-mail address", code="invalid_email", field="email")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("enter a valid e-mail address", code="invalid_email",
                              field="email") from None
    return result.normalized.lower()


def clean_display_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = " ".join(check_text(raw, "display_name").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError(f"the display name can have at most {MAX_DISPLAY_NAME} characters",
                              field="display_name")
    return name or None


def login_throttle_key(email: str) -> str:
    """Rate-limit keys name an address only by an HMAC with the stage key (not reversible by
    hashing a guessed address)."""
    return "login:" + sign("rate-limit", email)


def mail_throttle_key(email: str) -> str:
    return "mail:" + sign("rate-limit", email)


def _mail_allowed(email: str, now: datetime) -> bool:
    """At most a few unsolicited e-mails per address and hour (no mail-bombing through us)."""
    try:
        ratelimit.take(mail_throttle_key(email), MAIL_PER_ADDRESS_PER_HOUR, 3600,
                       now=now.timestamp())
    except RateLimitedError:
        return False
    return True


def _new_token(purpose: str, member_id: str, ttl: timedelta, now: datetime) -> tuple:
    value = new_token(32)
    return value, Token(sha256_hex(value), purpose=purpose, member_id=member_id,
                        created_at=now, expires_at=now + ttl)


# --- registration and verification --------------------------------------------------------------
#
# Only the mailbox owner decides which password an address's account gets (threat model:
# docs/threat-model-registration.md). A confirmation link proves the mailbox; the password
# typed beside it names the registration that becomes the account. So a stranger who
# registers the address first, or again, gains nothing: they never see the link, and the owner
# never types the stranger's password. The address has one live link at a time (its hash is
# on the member item, replaced by a conditional write), so racing registrations cannot leave
# several working links behind, and an older link stops working only when a newer one was
# actually mailed to the same box.


class Registration(NamedTuple):
    email: str
    password: str
    consents: dict
    display_name: str | None = None


def register(form: Registration, provenance: Provenance, now: datetime | None = None) -> None:
    """Create an unverified member and send the verification e-mail (see module docstring)."""
    from pynamodb.exceptions import TransactWriteError

    now = _now(now)
    email = normalize_email(form.email)
    passwords.check_rules(form.password, email)
    display_name = clean_display_name(form.display_name)
    password_hash = passwords.hash_password(form.password)
    consents = {p: bool(form.consents[p]) for p in consent.PURPOSES}

    member_id = str(uuid.uuid4())
    events = consent.new_events(member_id, 0, consent.genesis_hash(member_id), consents,
                                provenance, now)
    token, token_item = _new_token(VERIFY_EMAIL, member_id, VERIFY_TTL, now)
    member = Member(member_id, email=email, display_name=display_name,
                    password_hash=password_hash, created_at=now, email_verified=False,
                    consents=consent.state_after(None, events), consent_seq=len(events),
                    consent_head=events[-1].event_hash, verify_token_hash=token_item.token_hash,
                    verify_sent_at=now)
    for attempt in range(REGISTER_ATTEMPTS):
        try:
            with storage_errors(), transaction() as tx:
                tx.save(EmailClaim(email, member_id=member_id, created_at=now),
                        condition=EmailClaim.email.does_not_exist())
                tx.save(member, condition=Member.member_id.does_not_exist())
                for event in events:
                    tx.save(event)
                tx.save(token_item)
            break
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                later = LaterRegistration(
                    password_hash=password_hash, display_name=display_name, created_at=now,
                    page=(provenance.page or None) and provenance.page[:200],
                    origin=(provenance.origin or None) and provenance.origin[:200], **consents)
                _registered_again(email, later, now)
                return
            if attempt + 1 == REGISTER_ATTEMPTS or not any(
                    r is not None and r.code == "TransactionConflict" for r in reasons):
                raise
            # Another registration of this address is in flight: look again shortly.
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
    _mail_link(member, token)
    stats.record("registrations")
    consent.count_events(events)
    observability.count("Registrations")


def _registered_again(email: str, later: LaterRegistration, now: datetime) -> None:
    """The address has an account: say so if it is confirmed; if not, keep this registration's
    choices beside the first (at most ``MAX_LATER_REGISTRATIONS``, never replacing one) and
    mail a fresh link when the last one is older than ``RESEND_AFTER``."""
    member = _member_by_email(email)
    if member is None:
        return
    if member.email_verified:
        if _mail_allowed(email, now):
            mail.send(mail.Message(email, "already_registered", {}))
        return
    resend = (member.verify_sent_at is None or now - member.verify_sent_at >= RESEND_AFTER)
    # The old link dies only when its replacement is mailed: the throttle is asked first.
    resend = resend and _mail_allowed(email, now)
    if not _add_later_registration(member, later, resend, now) and resend:
        # Someone else replaced the link first (theirs is the live one): just keep the choices.
        _add_later_registration(get_member(member.member_id), later, False, now)


def _add_later_registration(member: Member, later: LaterRegistration, resend: bool,
                            now: datetime) -> bool:
    """One conditional write; with ``resend``, also a new live link, mailed. False when a
    condition failed (confirmed meanwhile, list full, or the link replaced by someone else)."""
    from pynamodb.exceptions import TransactWriteError

    kept = list(member.later_registrations or [])
    condition = (Member.email_verified == False)  # noqa: E712 (a DynamoDB condition)
    actions = []
    if len(kept) < MAX_LATER_REGISTRATIONS:
        actions.append(Member.later_registrations.set(
            (Member.later_registrations | []).append([later])))
        condition &= (Member.later_registrations.does_not_exist()
                      | (size(Member.later_registrations) < MAX_LATER_REGISTRATIONS))
    if resend:
        token, token_item = _new_token(VERIFY_EMAIL, member.member_id, VERIFY_TTL, now)
        actions += [Member.verify_token_hash.set(token_item.token_hash),
                    Member.verify_sent_at.set(now)]
        condition &= (Member.verify_sent_at.does_not_exist() if member.verify_sent_at is None
                      else Member.verify_sent_at == member.verify_sent_at)
    if not actions:
        return True
    try:
        with storage_errors(), transaction() as tx:
            tx.update(member, actions=actions, condition=condition)
            if resend:
                tx.save(token_item)
    except TransactWriteError as exc:
        if db.cancelled_by_condition(exc):
            return False
        raise
    if resend:
        _mail_link(member, token)
    return True


def _mail_link(member: Member, token: str) -> None:
    """Mail a confirmation link. If the mail cannot be sent, the link is marked as never sent,
    so the next registration of the address mails a fresh one at once."""
    try:
        mail.send(mail.Message(member.email, "verify", {"token": token}))
    except UnavailableError:
        from pynamodb.exceptions import PynamoDBException

        with contextlib.suppress(UnavailableError, PynamoDBException), storage_errors():
            member.update(actions=[Member.verify_sent_at.remove()],
                          condition=Member.verify_token_hash == sha256_hex(token))
        raise


def _forget_tokens(member_id: str, keep: str | None = None) -> None:
    """Delete every outstanding e-mail token of a member (but ``keep``)."""
    with storage_errors(), Token.batch_write() as batch:
        for item in Token.by_member.query(member_id):
            if item.token_hash != keep:
                batch.delete(Token(item.token_hash))


def _member_by_email(email: str) -> Member | None:
    with storage_errors():
        try:
            claim = EmailClaim.get(email)
        except EmailClaim.DoesNotExist:
            return None
        try:
            return Member.get(claim.member_id)
        except Member.DoesNotExist:
            return None


def _invalid_link(message: str = "this link is invalid or has expired") -> ValidationError:
    return ValidationError(message, code="invalid_token", field="token")


def _live_token(value: str, purpose: str, now: datetime) -> Token:
    if not isinstance(value, str) or not _TOKEN_SHAPE.fullmatch(value):
        raise _invalid_link()
    with storage_errors():
        try:
            token = Token.get(sha256_hex(value), consistent_read=True)
        except Token.DoesNotExist:
            token = None
    if token is None or token.purpose != purpose or token.expires_at <= now:
        raise _invalid_link()
    return token


def _spend_token(token: Token, member: Member, actions: list, now: datetime,
                 condition=None, events: tuple = ()) -> None:
    """Delete the single-use token and update the member in one transaction. Following an
    e-mailed link proves the mailbox, so the address counts as verified from then on, and
    any pending confirmation link and later registrations are gone."""
    from pynamodb.exceptions import TransactWriteError

    consents = member.consents
    try:
        with storage_errors(), transaction() as tx:
            tx.delete(token, condition=Token.token_hash.exists())
            tx.update(member, actions=[
                *actions,
                Member.email_verified.set(True),
                Member.verified_at.set(member.verified_at or now),
                Member.verify_token_hash.remove(),
                Member.verify_sent_at.remove(),
                Member.later_registrations.remove(),
                *consent.audience_actions(member.member_id, consents, True, member.suppressed),
            ], condition=Member.member_id.exists() & (condition if condition is not None
                                                      else Member.member_id.exists()))
            for event in events:
                tx.save(event, condition=ConsentEvent.seq.does_not_exist())
    except TransactWriteError:
        raise _invalid_link() from None


def verify_email(token_value: str, password: str | None, now: datetime | None = None) -> None:
    """Confirm an address with its live link and the password of one of its registrations.

    The matching registration becomes the account (its password, name and consents); a wrong
    or missing password leaves the link usable. Wrong passwords count as failed logins of the
    address, so the link cannot be used to guess them.
    """
    now = _now(now)
    token = _live_token(token_value, VERIFY_EMAIL, now)
    if not password:
        raise ValidationError("enter the password you chose when you registered",
                              code="password_required", field="password")
    member = get_member(token.member_id)
    if member.verify_token_hash != token.token_hash:
        if member.email_verified:
            raise _invalid_link("this address is already confirmed: log in")
        raise _invalid_link("a newer link was sent to this address: use the latest e-mail")
    throttle_key = login_throttle_key(member.email)
    ratelimit.take(throttle_key, LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_S, now=now.timestamp(),
                   message="Too many failed attempts for this address; try again later.")
    chosen = _registration_matching(member, password)
    if chosen is None:
        raise AuthenticationError("this is not the password chosen when registering",
                                  code="invalid_credentials", field="password")
    ratelimit.hit(throttle_key, LOGIN_WINDOW_S, now=now.timestamp(), amount=-1)
    actions, events = [Member.password_hash.set(member.password_hash)], []
    if isinstance(chosen, LaterRegistration):
        # A later registration is confirmed: its name and consent choices replace the first's.
        changes = {p: getattr(chosen, p) for p in consent.PURPOSES
                   if consent.is_granted(member, p) != getattr(chosen, p)}
        events, member.consents, consent_actions = consent.chained_change(
            member, changes, Provenance("registration", chosen.page, chosen.origin), now)
        actions = [Member.password_hash.set(chosen.password_hash), *consent_actions,
                   Member.display_name.set(chosen.display_name) if chosen.display_name
                   else Member.display_name.remove()]
    _spend_token(token, member, actions, now, events=events,
                 condition=(Member.verify_token_hash == token.token_hash)
                 & (Member.consent_seq == int(member.consent_seq)))
    if events:
        consent.count_events(events)
    stats.record("verifications")
    observability.count("Verifications")


def _registration_matching(member: Member, password: str):
    """The member itself (first registration) or the later registration whose password this is."""
    if passwords.verify_password(member.password_hash, password):
        return member
    for later in member.later_registrations or []:
        if passwords.verify_password(later.password_hash, password):
            return later
    return None


# --- sessions ------------------------------------------------------------------------------------


def login(email: str, password: str, user_agent: str | None = None,
          now: datetime | None = None) -> tuple:
    """Check the pair; returns (member, session cookie value, cookie max-age)."""
    now = _now(now)
    try:
        email = normalize_email(email)
    except ValidationError:
        passwords.verify_password(None, password)
        raise AuthenticationError("the e-mail address or password is wrong",
                                  code="invalid_credentials") from None
    throttle_key = login_throttle_key(email)
    # Count the attempt before checking it (one atomic ADD), so parallel guesses cannot all
    # read the same old count; a successful login takes its count back.
    ratelimit.take(throttle_key, LOGIN_FAILURES_ALLOWED, LOGIN_WINDOW_S, now=now.timestamp(),
                   message="Too many failed attempts for this address; try again later.")
    member = _member_by_email(email)
    if member is None:
        with storage_errors():  # the same reads as for a real address
            Member.count(str(uuid.uuid4()), limit=1)
    if not passwords.verify_password(member.password_hash if member else None, password):
        raise AuthenticationError("the e-mail address or password is wrong",
                                  code="invalid_credentials")
    ratelimit.hit(throttle_key, LOGIN_WINDOW_S, now=now.timestamp(), amount=-1)
    if not member.email_verified:
        raise ForbiddenError("confirm your e-mail address first: we sent you a link",
                             code="email_not_verified")
    if passwords.needs_rehash(member.password_hash):
        with storage_errors():
            member.update(actions=[Member.password_hash.set(passwords.hash_password(password))])
    cookie_value, max_age = sessions.create(member.member_id, user_agent, now)
    return member, cookie_value, max_age


def get_member(member_id: str) -> Member:
    with storage_errors():
        try:
            return Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            raise NotFoundError("no such member") from None


def member_json(member: Member) -> dict:
    consents = {}
    for purpose in consent.PURPOSES:
        state = getattr(member.consents, purpose, None) if member.consents else None
        consents[purpose] = {
            "granted": bool(state and state.granted),
            "updated_at": state.updated_at.isoformat() if state else None,
            "policy_version": state.policy_version if state else None,
        }
    return {"id": member.member_id, "email": member.email,
            "email_verified": bool(member.email_verified),
            "display_name": member.display_name, "created_at": member.created_at.isoformat(),
            "consents": consents}


# --- password reset ------------------------------------------------------------------------------


def request_password_reset(email: str, now: datetime | None = None) -> None:
    """E-mail a reset link if the address has an account; silent and equally slow either way."""
    started = time.monotonic()
    try:
        _send_reset_link(email, _now(now))
    finally:
        time.sleep(max(0.0, RESET_MIN_SECONDS - (time.monotonic() - started)))


def _send_reset_link(email: str, now: datetime) -> None:
    try:
        email = normalize_email(email)
    except ValidationError:
        return
    member = _member_by_email(email)
    if member is None or not _mail_allowed(email, now):
        return
    token, token_item = _new_token(RESET_PASSWORD, member.member_id, RESET_TTL, now)
    with storage_errors():
        token_item.save()
    mail.send(mail.Message(email, "reset_password", {"token": token}))


def confirm_password_reset(token_value: str, password: str, now: datetime | None = None) -> None:
    """Set a new password with a single-use token; every session of the member ends."""
    now = _now(now)
    token = _live_token(token_value, RESET_PASSWORD, now)
    member = get_member(token.member_id)
    passwords.check_rules(password, member.email)
    _spend_token(token, member, [Member.password_hash.set(passwords.hash_password(password)),
                                 Member.password_changed_at.set(now)], now)
    _forget_tokens(member.member_id)  # no other reset (or verification) link works after this
    sessions.revoke_all(member.member_id)
    mail.send(mail.Message(member.email, "password_changed", {}))


# --- erasure -------------------------------------------------------------------------------------


def delete_account(member_id: str, password: str) -> None:
    """Erase the member's personal data everywhere (see personal_data.erase)."""
    from chalicelib import personal_data

    member = get_member(member_id)
    if not passwords.verify_password(member.password_hash, password):
        raise ForbiddenError("the password is wrong", code="invalid_password")
    granted = {p: False for p in consent.PURPOSES if consent.is_granted(member, p)}
    if granted:
        consent.change(member_id, granted, Provenance("account_deleted"))
    personal_data.erase(member_id)
