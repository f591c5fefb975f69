"""The export (the right of access): everything eSO holds about a member, from each owner."""
from __future__ import annotations

from chalicelib import members, partners, promotions


def export_member(member_id: str) -> dict:
    """One document: profile, account, consent history, sessions (members), referral clicks,
    partner transactions and contacts (partners), promotions received (promotions)."""
    return {**members.export_member(member_id), **partners.export_member(member_id),
            **promotions.export_member(member_id)}
