"""Registration and address confirmation.

Only the mailbox owner decides which account an address gets (threat model:
docs/threat-model-registration.md). Every registration of a not yet confirmed address is kept
on the member item with what its registrant chose (password, name, consents); a confirmation
link proves the mailbox, and the password typed beside it names the registration that becomes
the account. Nothing anyone chose counts before that: no consent is recorded and nobody can
log in. So a stranger who registers the address first, or again, gains nothing: they never see
the link, and the owner never types the stranger's password.

The address has one live link at a time (its hash on the member item, replaced by a
conditional write), so racing registrations cannot leave several working links behind, and an
older link stops working only when a newer one is actually mailed to the same box. The kept
registrations are bounded: when full, the oldest but the first gives way, so the newest
registration (the owner's, when they register again) always counts.

No account enumeration: every registration answers the same, no sooner than the uniform
answer time, and logging in with a registration's password answers "not confirmed yet"
whether or not the address had an account before (``accounts.login``).
"""
from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.members import consent, passwords, tokens
from chalicelib.members.accounts import (
    MAIL_PER_ADDRESS_PER_HOUR,
    attempt_allowed,
    clean_display_name,
    get_member,
    mail_allowed,
    mail_throttle_key,
    member_by_email,
    normalize_email,
    uniformly_slow,
)
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim, Member, PendingRegistration
from chalicelib.platform import clock, dynamo, mail, observability, ratelimit
from chalicelib.platform.crypto import sha256_hex
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    UnavailableError,
    ValidationError,
)
from chalicelib.platform.policy import policy_version
from chalicelib.platform.vocabulary import TOPIC_PREFIX
from chalicelib.statistics import counters

REGISTER_ATTEMPTS = 5
KEEP_ATTEMPTS = 8
# Registrations kept per unconfirmed address (the first, and the newest others).
MAX_REGISTRATIONS = 5
# A new link is mailed for another registration only when the live one is older than this:
# a burst of registrations gets one mail.
RESEND_AFTER = timedelta(minutes=2)


class Registration(NamedTuple):
    email: str
    password: str
    consents: dict
    display_name: str | None = None
    topics_off: frozenset = frozenset()  # topics of partner promotions left unchosen


def register(form: Registration, provenance: Provenance, now: datetime | None = None) -> None:
    """Record a registration; mail the confirmation link (see the module docstring)."""
    with uniformly_slow():
        _register(form, provenance, now or clock.now())


def _register(form: Registration, provenance: Provenance, now: datetime) -> None:
    email = normalize_email(form.email)
    passwords.check_rules(form.password, email)
    entry = PendingRegistration(
        password_hash=passwords.hash_password(form.password),
        display_name=clean_display_name(form.display_name), created_at=now,
        page=(provenance.page or None) and provenance.page[:200],
        origin=(provenance.origin or None) and provenance.origin[:200],
        topics_off=set(form.topics_off) or None,
        **{p: bool(form.consents[p]) for p in consent.PURPOSES})
    member_id = str(uuid.uuid4())
    token, token_item = tokens.new_link(tokens.VERIFY_EMAIL, member_id, tokens.VERIFY_TTL, now)
    member = Member(member_id, email=email, password_hash=entry.password_hash, created_at=now,
                    email_verified=False, pending_registrations=[entry], registration_seq=1,
                    verify_token_hash=token_item.token_hash, verify_sent_at=now)
    for _ in dynamo.retries(REGISTER_ATTEMPTS):
        try:
            with storage_errors(), transaction() as tx:
                tx.save(EmailClaim(email, member_id=member_id, created_at=now),
                        condition=EmailClaim.email.does_not_exist())
                tx.save(member, condition=Member.member_id.does_not_exist())
                tx.save(token_item)
            break
        except TransactWriteError as exc:
            if 0 in dynamo.cancelled_by_condition(exc):  # the address has an account
                _registered_again(email, entry, now)
                return
            if not dynamo.only_contention(exc):
                raise
            # Another registration of this address is in flight: look again shortly.
    else:
        raise UnavailableError("The service is busy right now. Try again in a few seconds.")
    _mail_link(member, token)
    counters.record("registrations")
    observability.count("Registrations")


def register_confirmed(form: Registration, provenance: Provenance) -> str | None:
    """The operator's demo data: a member whose address counts as confirmed, no mail sent.
    Returns the member id, or None when the address already has an account."""
    now = clock.now()
    email = normalize_email(form.email)
    passwords.check_rules(form.password, email)
    member_id = str(uuid.uuid4())
    events = consent.new_events(member_id, 0, consent.genesis_hash(member_id),
                                {p: bool(form.consents[p]) for p in consent.PURPOSES},
                                provenance, now)
    consents = consent.state_after(None, events)
    member = Member(member_id, email=email, display_name=clean_display_name(form.display_name),
                    policy_confirmed=policy_version(),
                    password_hash=passwords.hash_password(form.password), created_at=now,
                    email_verified=True, verified_at=now, consents=consents,
                    consent_seq=len(events), consent_head=events[-1].event_hash,
                    **consent.audience_values(member_id, consents, True, False))
    try:
        with storage_errors(), transaction() as tx:
            tx.save(EmailClaim(email, member_id=member_id, created_at=now),
                    condition=EmailClaim.email.does_not_exist())
            tx.save(member, condition=Member.member_id.does_not_exist())
            for event in events:
                tx.save(event)
    except TransactWriteError as exc:
        if 0 in dynamo.cancelled_by_condition(exc):
            return None
        raise
    return member_id


# --- another registration of a known address -----------------------------------------------


def _registered_again(email: str, entry: PendingRegistration, now: datetime) -> None:
    """A confirmed address: its owner is told, and this password answers "not confirmed" at
    login for a day (as it would for a new address). An unconfirmed one: this registration
    is kept (``_keep``), and a fresh link mailed if the live one is older than RESEND_AFTER."""
    may_mail = None  # the mail allowance, asked at most once however often this retries
    for _ in dynamo.retries(KEEP_ATTEMPTS):
        member = member_by_email(email)
        if member is None:
            return
        if member.email_verified:
            _remember_attempt(member, entry, now)
            if mail_allowed(email, now):
                mail.send(mail.Message(email, "already_registered", {}))
            return
        resend = member.verify_sent_at is None or now - member.verify_sent_at >= RESEND_AFTER
        if resend and may_mail is None:
            # The old link dies only when its replacement is mailed: the throttle is asked first.
            may_mail = mail_allowed(email, now)
        if _keep(member, entry, resend and may_mail, now):
            return
    # Every attempt met another writer; the registrant sees the same answer as always.
    observability.get_logger().warning("registration not kept: too many at once")


def _remember_attempt(member: Member, entry: PendingRegistration, now: datetime) -> None:
    with contextlib.suppress(PynamoDBException), storage_errors():
        member.update(actions=[Member.attempt_hash.set(entry.password_hash),
                               Member.attempt_at.set(now)],
                      condition=Member.email_verified == True)  # noqa: E712 (a condition)


def _keep(member: Member, entry: PendingRegistration, resend: bool, now: datetime) -> bool:
    """One conditional write on the registrations as read: this one appended (the oldest but
    the first dropped when full), the login password set to it, and with ``resend`` a new
    live link. False when another writer came first (the caller reads again)."""
    kept = list(member.pending_registrations or [])
    if len(kept) >= MAX_REGISTRATIONS:
        kept = kept[:1] + kept[len(kept) - MAX_REGISTRATIONS + 2:]
    seq = int(member.registration_seq or 0)
    actions = [Member.pending_registrations.set([*kept, entry]),
               Member.registration_seq.set(seq + 1),
               Member.password_hash.set(entry.password_hash)]
    condition = ((Member.email_verified == False)  # noqa: E712 (a DynamoDB condition)
                 & (Member.registration_seq == seq if seq else
                    Member.registration_seq.does_not_exist() | (Member.registration_seq == 0)))
    token = None
    if resend:
        token, token_item = tokens.new_link(tokens.VERIFY_EMAIL, member.member_id,
                                            tokens.VERIFY_TTL, now)
        actions += [Member.verify_token_hash.set(token_item.token_hash),
                    Member.verify_sent_at.set(now)]
    try:
        with storage_errors(), transaction() as tx:
            tx.update(member, actions=actions, condition=condition)
            if token:
                tx.save(token_item)
    except TransactWriteError as exc:
        if dynamo.cancelled_by_condition(exc) or dynamo.only_contention(exc):
            return False
        raise
    if token:
        _mail_link(member, token)
    return True


def resend_confirmation(member_id: str, now: datetime | None = None) -> None:
    """An operator's resend, for a member who asks: a new confirmation link mailed to an
    address not confirmed yet; the old link stops working. A confirmed address is refused
    (409 ``already_confirmed``), and the address's mail allowance (a few unsolicited e-mails
    an hour) applies as to registrations."""
    now = now or clock.now()
    member = get_member(member_id)
    if member.email_verified:
        raise ConflictError("This address is already confirmed: there is nothing to resend.",
                            code="already_confirmed")
    ratelimit.take(mail_throttle_key(member.email), MAIL_PER_ADDRESS_PER_HOUR, 3600,
                   now=now.timestamp(),
                   message="This address was sent as many e-mails as it may get in an hour. "
                           "Try again later.")
    token, token_item = tokens.new_link(tokens.VERIFY_EMAIL, member_id, tokens.VERIFY_TTL, now)
    try:
        with storage_errors(), transaction() as tx:
            tx.update(member, actions=[Member.verify_token_hash.set(token_item.token_hash),
                                       Member.verify_sent_at.set(now)],
                      condition=Member.member_id.exists()
                      & (Member.email_verified == False))  # noqa: E712 (a DynamoDB condition)
            tx.save(token_item)
    except TransactWriteError as exc:
        if not dynamo.cancelled_by_condition(exc):
            raise
        get_member(member_id)  # erased meanwhile: NotFoundError
        raise ConflictError("This address was confirmed meanwhile: there is nothing to resend.",
                            code="already_confirmed") from None
    _mail_link(member, token)


def _mail_link(member: Member, token: str) -> None:
    """Mail a confirmation link. If the mail cannot be sent, the link is marked as never sent,
    so the next registration of the address mails a fresh one at once."""
    try:
        mail.send(mail.Message(member.email, "verify", {"token": token}))
    except UnavailableError:
        with contextlib.suppress(UnavailableError, PynamoDBException), storage_errors():
            member.update(actions=[Member.verify_sent_at.remove()],
                          condition=Member.verify_token_hash == sha256_hex(token))
        raise


# --- confirmation ----------------------------------------------------------------------------


def link_state(token_value: str, now: datetime | None = None) -> str:
    """What a confirmation link would do, changing nothing: ``usable``, ``replaced`` (a newer
    one was mailed), ``confirmed`` (the address already is) or ``invalid``."""
    try:
        token = tokens.live_link(token_value, tokens.VERIFY_EMAIL, now or clock.now())
        member = get_member(token.member_id)
    except (ValidationError, NotFoundError):  # unknown, expired, or its member erased
        return "invalid"
    if member.verify_token_hash == token.token_hash:
        return "usable"
    return "confirmed" if member.email_verified else "replaced"


def verify_email(token_value: str, password: str | None, now: datetime | None = None,
                 source: str | None = None) -> None:
    """Confirm an address with its live link and the password of one of its registrations.

    The matching registration becomes the account (its password, name and consents, recorded
    now with the page and origin of that registration); a wrong or missing password leaves
    the link usable. Wrong passwords count as failed logins of the address.
    """
    now = now or clock.now()
    token = tokens.live_link(token_value, tokens.VERIFY_EMAIL, now)
    if not password:
        raise ValidationError("Enter the password you chose when you registered.",
                              code="password_required", field="password")
    member = get_member(token.member_id)
    if member.verify_token_hash != token.token_hash:
        if member.email_verified:
            raise tokens.invalid_link("This address is already confirmed. Log in with your password.")
        raise tokens.invalid_link("A newer link was sent to this address. Open the latest e-mail "
                                  "from us and use its link.")
    with attempt_allowed(member.email, source, now) as attempt:
        chosen = next((entry for entry in member.pending_registrations or []
                       if passwords.verify_password(entry.password_hash, password)), None)
        if chosen is None:
            raise AuthenticationError(
                "This is not the password chosen at registration. If you registered more than "
                "once, enter the latest one, or choose a new password with a reset link.",
                code="invalid_credentials", field="password")
        attempt.succeeded()
    choices = {p: bool(getattr(chosen, p)) for p in consent.PURPOSES}
    # Topics are on unless left unchosen: only those are recorded (preferences.py).
    topics_off = set(chosen.topics_off or ())
    choices.update({TOPIC_PREFIX + t: False for t in topics_off})
    events, member.consents, consent_actions = consent.chained_change(
        member, choices, Provenance("registration", chosen.page, chosen.origin), now)
    if topics_off:
        consent_actions.append(Member.topics_off.set(topics_off))
    actions = [Member.password_hash.set(chosen.password_hash), *consent_actions,
               Member.registration_seq.remove(), Member.policy_confirmed.set(policy_version()),
               Member.display_name.set(chosen.display_name) if chosen.display_name
               else Member.display_name.remove()]
    tokens.spend_link(token, member, actions, now, events=events,
                      condition=(Member.verify_token_hash == token.token_hash)
                      & (Member.consent_seq == int(member.consent_seq)))
    consent.count_events(events)
    counters.record("verifications")
    observability.count("Verifications")
