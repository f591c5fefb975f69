"""Deleting one's account: consents withdrawn on the record, then the erasure."""
from __future__ import annotations

from chalicelib import members
from chalicelib.members import consent, passwords
from chalicelib.members.consent import Provenance
from chalicelib.platform import clock
from chalicelib.platform.errors import ForbiddenError
from chalicelib.platform.vocabulary import PURPOSES
from chalicelib.privacy.erasure import erase_member


def delete_account(member_id: str, password: str, source: str | None = None) -> None:
    """The member's own deletion, confirmed with the password (wrong guesses count against
    the same limits as logins). Withdrawals are recorded (source ``account_deleted``) so the
    aggregates count them, then everything is erased."""
    member = members.get_member(member_id)
    with members.accounts.attempt_allowed(member.email, source, clock.now()) as attempt:
        if not passwords.verify_password(member.password_hash, password):
            raise ForbiddenError("The password is wrong. Enter your current password to "
                                 "delete your account.", code="invalid_password",
                                 field="password")
        attempt.succeeded()
    granted = {p: False for p in PURPOSES if consent.is_granted(member, p)}
    if granted:
        consent.change(member_id, granted, Provenance("account_deleted"))
    erase_member(member_id)


def erase_on_request(member_id: str) -> None:
    """Erasure an operator carries out for a member who asked for it (by the contact form or
    by mail): as the member's own deletion, without their password. The consents still given
    are withdrawn on the record (source ``support_erasure``, counted in the aggregates), then
    everything that names the member is erased. NotFoundError when there is no such member."""
    member = members.get_member(member_id)
    granted = {p: False for p in PURPOSES if consent.is_granted(member, p)}
    if granted:
        consent.change(member_id, granted, Provenance("support_erasure"))
    erase_member(member_id)
