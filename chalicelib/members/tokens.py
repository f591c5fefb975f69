"""E-mailed single-use links (address confirmation, password reset): only SHA-256 hashes are
stored; spending one is a transaction that also proves the mailbox (the address is verified)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.members import consent
from chalicelib.members.models import ConsentEvent, Member, Token
from chalicelib.platform.crypto import new_token, sha256_hex
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import ValidationError

VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(hours=1)
VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")  # what new_token makes, and nothing else


def new_link(purpose: str, member_id: str, ttl: timedelta, now: datetime) -> tuple:
    """(the token for the link, the item holding its hash)."""
    value = new_token(32)
    return value, Token(sha256_hex(value), purpose=purpose, member_id=member_id,
                        created_at=now, expires_at=now + ttl)


UNDO_EMAIL_CHANGE = "undo_email_change"


def of_member(member_id: str) -> list:
    """The member's outstanding tokens, whole: the index holds keys only, so one Query and
    one BatchGetItem (a member has a handful at most)."""
    with storage_errors():
        hashes = [key.token_hash for key in Token.by_member.query(member_id)]
        return list(Token.batch_get(hashes, consistent_read=True)) if hashes else []


def forget_links(member_id: str, keep: str | None = None, keep_undo_except: str | None = "",
                 ) -> None:
    """Delete the outstanding e-mail tokens of a member (but ``keep``).

    The undo links of address changes survive (they are how the owner of an old address gets
    the account back, whatever happened to it since), except those for ``keep_undo_except``
    when it is given: the address an undo just restored, whose links are spent with it."""
    doomed = [token for token in of_member(member_id)
              if not (token.token_hash == keep or (token.purpose == UNDO_EMAIL_CHANGE
                                                   and token.email != keep_undo_except))]
    with storage_errors(), Token.batch_write() as batch:
        for token in doomed:
            batch.delete(token)


def invalid_link(message: str = "This link is invalid, has expired or was used already. "
                                 "Ask for a new one.") -> ValidationError:
    return ValidationError(message, code="invalid_token", field="token")


def live_link(value: str, purpose: str, now: datetime) -> Token:
    """The stored token of a link that is well-formed, known, of ``purpose`` and not expired."""
    if not isinstance(value, str) or not _TOKEN_SHAPE.fullmatch(value):
        raise invalid_link()
    with storage_errors():
        try:
            token = Token.get(sha256_hex(value), consistent_read=True)
        except Token.DoesNotExist:
            token = None
    if token is None or token.purpose != purpose or token.expires_at <= now:
        raise invalid_link()
    return token


def spend_link(token: Token, member: Member, actions: list, now: datetime,
               condition=None, events: tuple = ()) -> None:
    """Delete the single-use token and update the member in one transaction. Following an
    e-mailed link proves the mailbox, so the address counts as verified from then on, and
    any pending confirmation link and later registrations are gone."""
    exists = Member.member_id.exists()  # never recreate an erased member
    try:
        with storage_errors(), transaction() as tx:
            tx.delete(token, condition=Token.token_hash.exists())
            tx.update(member, actions=[
                *actions,
                Member.email_verified.set(True),
                Member.verified_at.set(member.verified_at or now),
                Member.verify_token_hash.remove(),
                Member.verify_sent_at.remove(),
                Member.pending_registrations.remove(),
                *consent.audience_actions(member.member_id, member.consents, True,
                                          member.suppressed),
            ], condition=exists if condition is None else exists & condition)
            for event in events:
                tx.save(event, condition=ConsentEvent.seq.does_not_exist())
    except TransactWriteError:
        raise invalid_link() from None
