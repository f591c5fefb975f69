"""Operators helping members: finding one member by the exact address, and nothing wider.

There is no list of members and no partial search. Every lookup is counted per operator
(``LOOKUPS_PER_HOUR``, counted before the read, found or not), so an operator cannot run
through a list of addresses to learn who is a member, and every lookup that reads the members'
table is written to the audit log with the member's id (never the address): who looked for
whom, and when, can be answered afterwards.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import members
from chalicelib.operators import audit
from chalicelib.platform import clock, ratelimit

LOOKUPS_PER_HOUR = 30


def find_member(operator_id: str, address: str, *, actor_email: str | None = None,
                request_id: str | None = None, now: datetime | None = None) -> str | None:
    """The id of the member whose address is exactly ``address``, or None. Refused with 429
    past ``LOOKUPS_PER_HOUR`` lookups of this operator in the hour; a malformed address is
    400 ``invalid_email`` (counted, nothing read)."""
    now = now or clock.now()
    ratelimit.take(f"operator-member-lookup:{operator_id}", LOOKUPS_PER_HOUR, 3600,
                   now=now.timestamp(),
                   message=f"You looked up {LOOKUPS_PER_HOUR} members in this hour; "
                           "try again later.")
    member = members.support.find_by_email(address)
    member_id = member.member_id if member is not None else None
    audit.record(operator_id, "member_looked_up", actor_email=actor_email, target=member_id,
                 request_id=request_id, detail={"status": "found" if member_id else "not_found"},
                 now=now)
    return member_id
