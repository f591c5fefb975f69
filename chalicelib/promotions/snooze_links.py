"""Pause links: every promotional e-mail lets its reader pause every promotion for two weeks,
one month or three months without logging in (threat model: docs/threat-model-account.md).

The token is ``<member id>.<HMAC-SHA256>`` signed with the stage key under its own purpose
(``snooze``): it names a member, never an address, cannot be made for another member without
the key, and is no unsubscribe token (those are signed under another purpose). The period is
the link holder's choice among the three; a link only ever starts or lengthens a pause, never
shortens or ends one (that takes the member's own session, in the preference centre).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from chalicelib import members
from chalicelib.members.consent import Provenance
from chalicelib.platform import clock
from chalicelib.platform.crypto import sign, verify_signature
from chalicelib.platform.errors import NotFoundError, ValidationError
from chalicelib.platform.settings import get_settings

_SIGNING = "snooze"


def snooze_token(member_id: str) -> str:
    return f"{member_id}.{sign(_SIGNING, member_id)}"


def snooze_url(member_id: str, period: str) -> str:
    return f"{get_settings().base_url}/snooze?token={snooze_token(member_id)}&period={period}"


def read_snooze_token(token: Optional[str]) -> str:
    """The member id of a genuine pause token; ValidationError otherwise."""
    member_id, _, signature = (token or "").rpartition(".")
    if (not member_id or len(token) > 200
            or not verify_signature(_SIGNING, member_id, signature)):
        raise ValidationError("This pause link is not valid. Copy the whole link from the "
                              "e-mail, or pause promotions in your account.",
                              code="invalid_token", field="token")
    return member_id


def snooze_by_link(token: str, period: Optional[str], now: Optional[datetime] = None) -> datetime:
    """Pause every promotion of the token's member for ``period`` (a longer pause already
    running stays); returns when the pause ends. A deleted member's link changes nothing and
    answers the same."""
    member_id = read_snooze_token(token)
    period = members.preferences.check_period(period)
    now = now or clock.now()
    try:
        member = members.preferences.snooze(member_id, period, Provenance("snooze_link", "/snooze"),
                                            now=now, extend_only=True)
    except NotFoundError:
        return members.preferences.snooze_end(period, now)
    return member.snoozed_until
