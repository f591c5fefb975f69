"""Helping one member, for an operator: finding the member by the exact address, what their
account looks like, signing them out everywhere, and stopping all promotional mail to them.

There is no listing and no search here on purpose: an operator finds a member only by the
whole address, which normalises like a sign-in (one read of the address's claim, so a part
of an address finds nothing). Resending the confirmation is ``registration``'s, and erasing
on request ``chalicelib.privacy``'s.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.members import audience, challenges, consent, sessions
from chalicelib.members.accounts import get_member, member_by_email, normalize_email
from chalicelib.members.models import Member
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.vocabulary import PURPOSES


def find_by_email(address: str) -> Member | None:
    """The member whose address is exactly ``address`` (once normalised), or None; a malformed
    address is ``invalid_email``."""
    return member_by_email(normalize_email(address))


def overview(member_id: str, now: datetime | None = None) -> dict:
    """What support sees of a member: address, confirmation, suppression, current consents,
    the consent history (oldest first), and how many sessions are live. Never a password hash,
    a token or a second factor's secret."""
    now = now or clock.now()
    member = get_member(member_id)
    current = {}
    for purpose in PURPOSES:
        state = getattr(member.consents, purpose, None) if member.consents else None
        current[purpose] = {"granted": bool(state and state.granted),
                            "updated_at": iso(state.updated_at) if state else None}
    return {"id": member.member_id, "email": member.email,
            "display_name": member.display_name, "created_at": iso(member.created_at),
            "email_verified": bool(member.email_verified), "verified_at": iso(member.verified_at),
            "confirmation_sent_at": iso(member.verify_sent_at),
            "suppressed": bool(member.suppressed), "consents": current,
            "history": [consent.event_json(e) for e in consent.history(member_id)],
            "live_sessions": len(sessions.list_for_member(member_id, now))}


def end_sessions(member_id: str) -> int:
    """Sign the member out everywhere at once: every session ends, and so does every sign-in
    waiting for its second step. The member item must exist (NotFoundError otherwise).
    Returns how many sessions ended."""
    get_member(member_id)
    ended = sessions.revoke_all(member_id)
    challenges.forget_member(member_id)
    return ended


def suppress(member_id: str, page: str | None = None, origin: str | None = None) -> None:
    """Stop all promotional mail to the member's address at their request (or after abuse):
    suppressed, out of both audiences, and every consent still given withdrawn on the record
    (source ``support_suppression``), so the member's history says why. NotFoundError when
    the member is gone."""
    member = get_member(member_id)
    if not audience.suppress_member(member, consent.Provenance("support_suppression", page,
                                                               origin)):
        get_member(member_id)  # erased meanwhile
