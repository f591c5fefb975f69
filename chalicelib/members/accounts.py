"""Accounts: addresses and names, login, password reset, the per-address throttles.

No account enumeration: every login costs two argon2 verifications and the same reads
whether or not the address exists, and a reset request answers equally slowly either way.
"""
from __future__ import annotations

import contextlib
import ipaddress
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from pynamodb.exceptions import UpdateError

from chalicelib.members import challenges, passwords, sessions, tokens
from chalicelib.members.models import EmailClaim, Member
from chalicelib.platform import clock, mail, ratelimit
from chalicelib.platform.crypto import sign
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import (
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from chalicelib.platform.settings import get_settings
from chalicelib.platform.text import check_text

LOGIN_FAILURES_ALLOWED = 5           # per address and client network, in the window
LOGIN_FAILURES_ALLOWED_IN_ALL = 50   # per address from everywhere, in the window
LOGIN_WINDOW_S = 15 * 60
ATTEMPT_REMEMBERED = timedelta(days=1)
MAIL_PER_ADDRESS_PER_HOUR = 3
SECOND_FACTOR_TTL = timedelta(minutes=5)   # to type the code after the password
MAX_DISPLAY_NAME = 80
INVALID_EMAIL = "Enter a valid e-mail address, such as name@example.com."
WRONG_PAIR = ("The e-mail address or the password is wrong. Check both and try again, or "
              "choose a new password with a reset link.")
NO_SUCH_MEMBER = "There is no such account. Log in again."


def normalize_email(raw: str) -> str:
    """The canonical form of an address (syntax only, no network lookups), lower-cased."""
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or len(raw) > 254:
        raise ValidationError(INVALID_EMAIL, code="invalid_email", field="email")
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(INVALID_EMAIL, code="invalid_email",
                              field="email") from None
    return result.normalized.lower()


def clean_display_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = " ".join(check_text(raw, "display_name").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError(f"A name can have at most {MAX_DISPLAY_NAME} characters. Shorten it "
                              "and try again.", field="display_name")
    return name or None


def login_throttle_key(email: str) -> str:
    """Rate-limit keys name an address only by an HMAC with the stage key (not reversible by
    hashing a guessed address)."""
    return "login:" + sign("rate-limit", email)


def client_network(source: str | None) -> str:
    """The client's network: an IPv4 /24 or an IPv6 /64 (one host rarely rotates beyond it)."""
    try:
        address = ipaddress.ip_address((source or "").strip())
    except ValueError:
        return "unknown"
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class Attempt(NamedTuple):
    """A counted login (or confirmation) attempt: ``succeeded()`` takes its count back."""

    keys: tuple
    now: float

    def succeeded(self) -> None:
        for key in self.keys:
            ratelimit.hit(key, LOGIN_WINDOW_S, now=self.now, amount=-1)


def _attempt_keys(email: str, source: str | None) -> tuple:
    """The counters of an address's attempts: from the client's network, and from everywhere."""
    base = login_throttle_key(email)
    return f"{base}:{sign('rate-limit-network', client_network(source))}", base


@contextlib.contextmanager
def attempt_allowed(email: str, source: str | None, now: datetime):
    """Count an attempt before the password is checked (one atomic ADD per counter, so
    parallel guesses cannot all read the same old count). Two counters: the address from the
    client's network (``LOGIN_FAILURES_ALLOWED``), and the address from everywhere
    (``LOGIN_FAILURES_ALLOWED_IN_ALL``), so a stranger who fails on purpose locks out only
    their own network unless they fail from many at once."""
    limits = tuple(zip(_attempt_keys(email, source),
                       (LOGIN_FAILURES_ALLOWED, LOGIN_FAILURES_ALLOWED_IN_ALL)))
    taken = []
    try:
        for key, limit in limits:
            ratelimit.take(key, limit, LOGIN_WINDOW_S, now=now.timestamp(),
                           message="Too many failed attempts for this address. Wait 15 minutes and "
                                   "try again, or choose a new password with a reset link.")
            taken.append(key)
    except RateLimitedError:
        Attempt(tuple(taken), now.timestamp()).succeeded()  # refused: nothing counted
        raise
    yield Attempt(tuple(taken), now.timestamp())


@contextlib.contextmanager
def uniformly_slow():
    """Answer no sooner than the stage's uniform answer time, whatever happened inside, so
    the time taken says nothing about the address (registration, reset requests)."""
    started = clock.monotonic()
    try:
        yield
    finally:
        clock.sleep(get_settings().uniform_answer_s - (clock.monotonic() - started))


def mail_throttle_key(email: str) -> str:
    return "mail:" + sign("rate-limit", email)


def mail_allowed(email: str, now: datetime) -> bool:
    """At most a few unsolicited e-mails per address and hour (no mail-bombing through us)."""
    try:
        ratelimit.take(mail_throttle_key(email), MAIL_PER_ADDRESS_PER_HOUR, 3600,
                       now=now.timestamp())
    except RateLimitedError:
        return False
    return True


def member_by_email(email: str) -> Member | None:
    with storage_errors():
        try:
            claim = EmailClaim.get(email)
        except EmailClaim.DoesNotExist:
            return None
        try:
            return Member.get(claim.member_id)
        except Member.DoesNotExist:
            return None


class LoginResult(NamedTuple):
    """A password sign-in: a session (its cookie value and max-age), or, for a member with
    two-step sign-in, no session yet but the token of the second step (``second_factor``)."""

    member: Member
    cookie_value: str | None
    max_age: int | None
    second_factor: str | None = None


def login(email: str, password: str, user_agent: str | None = None,
          now: datetime | None = None, source: str | None = None,
          browser: str | None = None) -> LoginResult:
    """Check the pair; returns the member and a new session — or, when the member has turned
    on two-step sign-in, the token of the second step, bound to ``browser`` (the visitor cookie).

    Always two argon2 verifications and the same reads: the account's password, and the
    password of a registration attempt made in the last day on a confirmed address (which
    answers "not confirmed yet", as it would on a new address); a dummy hash stands in for
    what is absent.
    """
    now = now or clock.now()
    try:
        email = normalize_email(email)
    except ValidationError:
        passwords.verify_password(None, password)
        passwords.verify_password(None, password)
        raise AuthenticationError(WRONG_PAIR, code="invalid_credentials") from None
    with attempt_allowed(email, source, now) as attempt:
        member = member_by_email(email)
        if member is None:
            with storage_errors():  # the same reads as for a real address
                Member.count(str(uuid.uuid4()), limit=1)
        matches = passwords.verify_password(member.password_hash if member else None, password)
        recent = (member is not None and member.email_verified and member.attempt_at is not None
                  and now - member.attempt_at < ATTEMPT_REMEMBERED)
        attempted = passwords.verify_password(member.attempt_hash if recent else None, password)
        if not (matches or attempted):
            raise AuthenticationError(WRONG_PAIR, code="invalid_credentials")
        attempt.succeeded()
    if not matches or not member.email_verified:
        raise ForbiddenError("Confirm your e-mail address first: open the link in the e-mail we "
                             "sent you. No e-mail? Register again to get a new link.",
                             code="email_not_verified")
    if passwords.needs_rehash(member.password_hash):
        try:
            with storage_errors():
                member.update(actions=[Member.password_hash.set(passwords.hash_password(password))],
                              condition=Member.member_id.exists())  # never recreate an erased member
        except UpdateError as exc:
            if condition_failed(exc):  # erased meanwhile
                raise AuthenticationError(WRONG_PAIR, code="invalid_credentials") from None
            raise
    if member.totp_secret:
        step = challenges.issue(challenges.SECOND_FACTOR, browser, now, member.member_id,
                                SECOND_FACTOR_TTL)
        return LoginResult(member, None, None, step)
    cookie_value, max_age = sessions.create(member.member_id, user_agent, now)
    note_device(member, user_agent, now)
    return LoginResult(member, cookie_value, max_age)


def confirm_password(member: Member, password: str, now: datetime, source: str | None,
                     field: str = "password") -> None:
    """A signed-in member proves it is them again (before adding a way to sign in): guesses
    count against the same limits as logins, so a stolen session cannot try passwords faster."""
    with attempt_allowed(member.email, source, now) as attempt:
        if not passwords.verify_password(member.password_hash, password):
            raise AuthenticationError("the password is wrong", code="invalid_credentials",
                                      field=field)
        attempt.succeeded()


MAX_KNOWN_DEVICES = 20


def device_key(member_id: str, user_agent: str | None) -> str:
    """A keyed hash of the kind of device (browser and platform), per member: it tells
    "seen before" from "new" and nothing else (no fingerprint, nothing to match elsewhere)."""
    from chalicelib.members.devices import device_summary

    return sign("device", f"{member_id}\x00{device_summary(user_agent)}")[:22]


def note_device(member: Member, user_agent: str | None, now: datetime) -> None:
    """Remember the kind of device of a new session; mail the member when it is one they
    have not signed in from before (not for their very first sign-in)."""
    from chalicelib.members.devices import device_summary

    key = device_key(member.member_id, user_agent)
    known = list(member.known_devices or [])
    if key in known:
        return
    try:
        with storage_errors():
            member.update(actions=[Member.known_devices.set((known + [key])[-MAX_KNOWN_DEVICES:])],
                          condition=Member.member_id.exists())  # never recreate an erased member
    except UpdateError as exc:
        if condition_failed(exc):
            return
        raise
    if known:
        mail.send(mail.Message(member.email, "new_sign_in", {
            "device": device_summary(user_agent), "at": now.strftime("%Y-%m-%d %H:%M UTC")}))


def get_member(member_id: str) -> Member:
    with storage_errors():
        try:
            return Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            raise NotFoundError(NO_SUCH_MEMBER) from None


# --- password reset ------------------------------------------------------------------------------


def request_password_reset(email: str, now: datetime | None = None) -> None:
    """E-mail a reset link if the address has an account; silent and equally slow either way."""
    with uniformly_slow():
        _send_reset_link(email, now or clock.now())


def _send_reset_link(email: str, now: datetime) -> None:
    try:
        email = normalize_email(email)
    except ValidationError:
        return
    member = member_by_email(email)
    if member is None or not mail_allowed(email, now):
        return
    token, token_item = tokens.new_link(tokens.RESET_PASSWORD, member.member_id, tokens.RESET_TTL, now)
    with storage_errors():
        token_item.save()
    mail.send(mail.Message(email, "reset_password", {"token": token}))


def confirm_password_reset(token_value: str, password: str, now: datetime | None = None,
                           source: str | None = None) -> None:
    """Set a new password with a single-use token; every session of the member ends.

    The link proves the mailbox, so an unconfirmed address becomes confirmed, with this
    password and nothing else: no registration's name or consents (the owner may not have
    made any of them) — the member chooses those in the preference centre.
    """
    now = now or clock.now()
    token = tokens.live_link(token_value, tokens.RESET_PASSWORD, now)
    member = get_member(token.member_id)
    passwords.check_rules(password, member.email)
    actions = [Member.password_hash.set(passwords.hash_password(password)),
               Member.password_changed_at.set(now), Member.attempt_hash.remove(),
               Member.attempt_at.remove()]
    if not member.email_verified:
        actions += [Member.display_name.remove(), Member.registration_seq.remove()]
    tokens.spend_link(token, member, actions, now)
    tokens.forget_links(member.member_id)  # no other reset (or verification) link works after this
    sessions.revoke_all(member.member_id)
    challenges.forget_member(member.member_id)  # nor a sign-in waiting for its second step
    # A stranger's lockout ends: the address-wide counter, and the one of the owner's network.
    for key in _attempt_keys(member.email, source):
        ratelimit.forget(key, LOGIN_WINDOW_S)
    mail.send(mail.Message(member.email, "password_changed", {}))


# --- the member's own account ----------------------------------------------------------------


def change_password(member_id: str, current_password: str, new_password: str,
                    user_agent: str | None = None, now: datetime | None = None,
                    source: str | None = None) -> tuple:
    """Replace the password after checking the current one; every session of the member ends
    and a new one begins for this browser. Returns (cookie value, max-age).

    Guesses of the current password count against the same limits as logins: a stolen
    session cannot be used to try passwords faster than the login form allows.
    """
    now = now or clock.now()
    member = get_member(member_id)
    with attempt_allowed(member.email, source, now) as attempt:
        if not passwords.verify_password(member.password_hash, current_password):
            raise AuthenticationError("the current password is wrong",
                                      code="invalid_credentials", field="current_password")
        attempt.succeeded()
    try:
        passwords.check_rules(new_password, member.email)
    except ValidationError as exc:
        raise ValidationError(exc.message, code=exc.code, field="new_password") from None
    with storage_errors():
        member.update(actions=[Member.password_hash.set(passwords.hash_password(new_password)),
                               Member.password_changed_at.set(now)],
                      condition=Member.member_id.exists())
    tokens.forget_links(member.member_id)  # a pending address change or reset link dies too
    sessions.revoke_all(member.member_id)
    challenges.forget_member(member.member_id)
    cookie_value, max_age = sessions.create(member.member_id, user_agent, now)
    mail.send(mail.Message(member.email, "password_changed", {}))
    return cookie_value, max_age


def change_display_name(member_id: str, raw: str | None) -> Member:
    """The name shown to the member (and to a partner they choose to write to)."""
    name = clean_display_name(raw)
    with storage_errors():
        try:
            member = Member(member_id)
            member.update(actions=[Member.display_name.set(name) if name
                                   else Member.display_name.remove()],
                          condition=Member.member_id.exists())
        except UpdateError as exc:
            if condition_failed(exc):
                raise NotFoundError("no such member") from None
            raise
    return get_member(member_id)
