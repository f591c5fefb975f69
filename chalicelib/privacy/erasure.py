"""Erasure: forget a member everywhere, asking each owner of member data in a stated order.

1. ``members.end_sessions`` — no signed-in request can add traces while the rest goes;
2. ``partners.erase_member`` — first the notices asking each partner the member was referred
   to to unlink those clicks (they name no member, and are delivered after the member is
   gone), then clicks and transactions lose the member (they stay for the partners'
   accounting), the records of what the member shared with partners are deleted;
3. ``promotions.erase_member`` — the delivery ledger's entries;
4. ``members.erase_member`` — tokens, consent history, throttle counters, and last, together,
   the e-mail claim and the member item: once they are gone nothing can reach the member.

What stays, on purpose and without identifiers: the aggregate daily counters. Every step is
idempotent, so erasure can run again after a crash. A table that holds member data and is
not covered by an owner's ``erase_member`` and ``export_member`` fails the suite.
"""
from __future__ import annotations

from chalicelib import members, partners, promotions
from chalicelib.statistics import counters

# Who holds member data, in the order erasure asks them (the export asks them too).
OWNERS = (members, partners, promotions)


def erase_member(member_id: str) -> None:
    """Delete or de-identify every item that names the member."""
    members.end_sessions(member_id)
    partners.erase_member(member_id)
    promotions.erase_member(member_id)
    if members.erase_member(member_id):
        counters.record("accounts_deleted")
