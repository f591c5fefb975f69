"""A member changes their e-mail address, and can undo a change they did not make.

1. ``request_change`` (signed in, with the password): a link goes to the new address; the old
   address is told at once, with an undo link valid 7 days. The answer is the same whether or
   not the new address already has an account (that address is told instead, and no link is
   sent), so the form reveals nobody's account.
2. ``confirm_change`` (the link; no session needed, the token proves the new mailbox): one
   transaction moves the uniqueness guard from the old address to the new one, conditioned on
   the new address being free and the member still having the old one, so of many members
   racing for one address exactly one gets it. The old address is told again, with a new undo
   link. The consent history records that the choices now apply to the new address.
3. ``undo_change`` (the link from the old mailbox; no session needed): the old address is
   restored if it was changed (a pending change is cancelled if not), every session ends, every
   other e-mailed link dies, and a password-reset link goes to the old address: whoever changed
   it, with a stolen session or password, is shut out and the owner chooses a new password.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, TransactWriteError

from chalicelib.members import consent, passwords, sessions, tokens
from chalicelib.members.accounts import (
    attempt_allowed,
    get_member,
    mail_allowed,
    member_by_email,
    normalize_email,
    uniformly_slow,
)
from chalicelib.members.models import ConsentEvent, EmailClaim, Member, Token
from chalicelib.platform import clock, dynamo, mail
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import (
    AuthenticationError,
    ConflictError,
    UnavailableError,
    ValidationError,
)
from chalicelib.platform.vocabulary import PURPOSES

CHANGE_TTL = timedelta(hours=24)
UNDO_TTL = timedelta(days=7)
CHANGE_EMAIL = "change_email"
UNDO_EMAIL_CHANGE = tokens.UNDO_EMAIL_CHANGE


def masked(address: str) -> str:
    """``p***@example.org``: enough for the owner to recognise, not to learn an address."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def request_change(member_id: str, new_email: str, password: str, now: datetime | None = None,
                   source: str | None = None) -> None:
    """Check the password, then mail the link (or, for a taken address, a notice); the same
    answer, equally slow, whichever it was."""
    now = now or clock.now()
    member = get_member(member_id)
    with attempt_allowed(member.email, source, now) as attempt:
        if not passwords.verify_password(member.password_hash, password):
            raise AuthenticationError("The password is wrong. Type the password you sign in "
                                      "with.", code="invalid_credentials", field="password")
        attempt.succeeded()
    try:
        new_email = normalize_email(new_email)
    except ValidationError as exc:
        raise ValidationError(exc.message, code=exc.code, field="new_email") from None
    if new_email == member.email:
        raise ValidationError("That is already your address. Type the new address you want "
                              "to use.", code="same_email", field="new_email")
    with uniformly_slow():
        if not (mail_allowed(member.email, now) and mail_allowed(new_email, now)):
            return  # the hourly allowance of either address is spent: nothing more is sent
        # The old address is told either way (with its undo link), so the requester's own
        # mailbox does not reveal whether the new address has an account.
        undo, undo_item = tokens.new_link(UNDO_EMAIL_CHANGE, member_id, UNDO_TTL, now)
        undo_item.email = member.email
        # The change is stored alike whether or not the address is taken (the member's export
        # lists it either way); for a taken one its link is never mailed, and confirming it
        # would be refused anyway.
        change, change_item = tokens.new_link(CHANGE_EMAIL, member_id, CHANGE_TTL, now)
        change_item.email = new_email
        taken = member_by_email(new_email) is not None
        with storage_errors(), Token.batch_write() as batch:
            batch.save(change_item)
            batch.save(undo_item)
        if taken:
            mail.send(mail.Message(new_email, "email_change_taken", {}))
        else:
            mail.send(mail.Message(new_email, "email_change_confirm", {"token": change}))
        mail.send(mail.Message(member.email, "email_change_requested",
                               {"token": undo, "new_email": masked(new_email)}))


def _restated_consents(member: Member, now: datetime) -> tuple:
    """Events stating each current choice again, now under the new address."""
    current = {p: consent.is_granted(member, p) for p in PURPOSES
               if getattr(member.consents, p, None) is not None} if member.consents else {}
    return consent.chained_change(member, current, consent.Provenance("email_change"), now)


MAX_ATTEMPTS = 8


def _move(member_id: str, old: str, new: str, token: Token, now: datetime,
          take_back: bool = False) -> None:
    """One transaction: the token is spent, the guard moves, the member's address changes,
    and the consent history says so. ConflictError when the new address is taken; retried
    when only contention (another transaction, a consent change) stood in the way."""
    for _ in dynamo.retries(MAX_ATTEMPTS, base=0.01, cap=0.25):
        member = get_member(member_id)
        if member.email != old:
            raise tokens.invalid_link()  # already moved by another use of a link
        if _claimed(new) and not (take_back and _release_unconfirmed(new, member_id)):
            raise _taken()
        events, consents, consent_actions = _restated_consents(member, now)
        try:
            with transaction() as tx:
                tx.delete(token, condition=Token.token_hash.exists())
                tx.save(EmailClaim(new, member_id=member_id, created_at=now),
                        condition=EmailClaim.email.does_not_exist())
                tx.delete(EmailClaim(old), condition=EmailClaim.member_id == member_id)
                tx.update(member, actions=[
                    Member.email.set(new), Member.email_verified.set(True),
                    Member.suppressed.set(False), *consent_actions,
                    # soft bounces belonged to the old mailbox
                    Member.soft_bounces.remove(), Member.soft_bounce_reset_at.remove(),
                    *consent.audience_actions(member_id, consents, True, False),
                ], condition=(Member.email == old)
                    & (Member.consent_seq == int(member.consent_seq)))
                for event in events:
                    tx.save(event, condition=ConsentEvent.seq.does_not_exist())
        except TransactWriteError as exc:
            codes = dynamo.cancellation_codes(exc)
            if codes[:1] == ["ConditionalCheckFailed"]:
                raise tokens.invalid_link() from None  # the link was spent meanwhile
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise _taken() from None
            if dynamo.only_contention(exc, also=("ConditionalCheckFailed",)):
                continue  # another transaction held an item, or the consents moved on
            with storage_errors():
                raise
        consent.count_events(events)
        return
    raise UnavailableError("Too many simultaneous changes; try again.", retry_after=1)


def _claimed(address: str) -> bool:
    """Whether an account holds the address now (a consistent read: of many members racing
    for one address, those that come after the winner stop here, without a transaction)."""
    with storage_errors():
        try:
            EmailClaim.get(address, consistent_read=True)
        except EmailClaim.DoesNotExist:
            return False
    return True


def _release_unconfirmed(address: str, member_id: str) -> bool:
    """Undo gives an address back to the member it was taken from: a registration of that
    address made meanwhile and never confirmed (nobody proved the mailbox) gives way."""
    with storage_errors():
        try:
            claim = EmailClaim.get(address, consistent_read=True)
            other = Member.get(claim.member_id, consistent_read=True)
        except (EmailClaim.DoesNotExist, Member.DoesNotExist):
            return True
    if other.member_id == member_id or other.email_verified:
        return False
    try:
        with transaction() as tx:
            tx.delete(EmailClaim(address), condition=EmailClaim.member_id == other.member_id)
            tx.delete(Member(other.member_id), condition=Member.email_verified == False)  # noqa: E712
    except TransactWriteError:
        return False
    return True


def _taken() -> ConflictError:
    return ConflictError("Another account uses this address now, so it cannot be yours. "
                         "Your address has not changed.", code="email_taken")


def confirm_change(token_value: str, now: datetime | None = None) -> Member:
    now = now or clock.now()
    token = tokens.live_link(token_value, CHANGE_EMAIL, now)
    member = get_member(token.member_id)
    old, new = member.email, token.email
    _move(member.member_id, old, new, token, now)
    undo, undo_item = tokens.new_link(UNDO_EMAIL_CHANGE, member.member_id, UNDO_TTL, now)
    undo_item.email = old
    with storage_errors():
        undo_item.save()
    mail.send(mail.Message(old, "email_changed", {"token": undo, "new_email": masked(new)}))
    mail.send(mail.Message(new, "email_change_done", {}))
    return get_member(member.member_id)


def undo_change(token_value: str, now: datetime | None = None) -> Member:
    """Give the account back to its old address's owner, and shut out whoever moved it: every
    session ends, the password stops working until the reset link mailed to the old address is
    used, passkeys are removed and two-step sign-in is turned off (whoever knew the password
    may have added either)."""
    now = now or clock.now()
    token = tokens.live_link(token_value, UNDO_EMAIL_CHANGE, now)
    member = get_member(token.member_id)
    old = token.email
    if member.email != old:
        _move(member.member_id, member.email, old, token, now, take_back=True)
    else:
        try:
            with storage_errors():
                token.delete(condition=Token.token_hash.exists())  # single use
        except DeleteError:
            raise tokens.invalid_link() from None
    tokens.forget_links(member.member_id, keep_undo_except=old)
    sessions.revoke_all(member.member_id)
    _lock_out(member.member_id)
    reset, reset_item = tokens.new_link(tokens.RESET_PASSWORD, member.member_id,
                                        tokens.RESET_TTL, now)
    with storage_errors():
        reset_item.save()
    # Not counted against the address's hourly allowance: whoever changed the address could
    # have spent it with change requests, and this link is what gives the account back.
    mail.send(mail.Message(old, "reset_password", {"token": reset}))
    return get_member(member.member_id)


def _lock_out(member_id: str) -> None:
    from chalicelib.members import passkeys, totp
    from chalicelib.platform.crypto import new_token

    with storage_errors():
        Member(member_id).update(actions=[
            # Not an argon2 hash: no password matches it until a reset sets a new one.
            Member.password_hash.set("!locked-after-undo!" + new_token(16)), *totp.off_actions(),
        ], condition=Member.member_id.exists())
    passkeys.erase_member(member_id)
