"""Soft bounces: an address that bounces transiently three times within 30 days is suppressed
like one that bounced permanently; one delivery in between starts the count again.

Each transient bounce is one element ``"<epoch seconds>|<feedback id>"`` of the member's
``soft_bounces`` string set, added with ``ADD`` — the same SES event delivered twice adds the
same element, so a redelivery never counts twice, and concurrent bounces never lose one. A
delivery sets ``soft_bounce_reset_at`` (only forward) and deletes the elements it makes
obsolete; a bounce that happened before the latest delivery is not counted, whatever order
SNS delivers the events in. A delivery to a member without soft bounces costs one read and no
write.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from pynamodb.exceptions import UpdateError

from chalicelib.members.accounts import member_by_email, normalize_email
from chalicelib.members.audience import suppress
from chalicelib.members.models import Member
from chalicelib.platform import clock, dynamo
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import ValidationError

SOFT_BOUNCE_LIMIT = 3                 # transient bounces ...
SOFT_BOUNCE_WINDOW = timedelta(days=30)  # ... within this long suppress the address
MAX_EVENT_ID = 200


def _element(at: datetime, event_id: str) -> str:
    return f"{int(at.timestamp())}|{event_id[:MAX_EVENT_ID]}"


def bounce_moment(element: str) -> datetime:
    """When one recorded soft bounce happened."""
    seconds, _, _ = element.partition("|")
    try:
        return datetime.fromtimestamp(int(seconds), timezone.utc)
    except (ValueError, OverflowError):
        return datetime.min.replace(tzinfo=timezone.utc)


def _member_of(address: str) -> Optional[Member]:
    try:
        return member_by_email(normalize_email(address))
    except ValidationError:
        return None


def counted(member: Member, now: Optional[datetime] = None) -> int:
    """The member's soft bounces that count now: within the window, after the last delivery."""
    now = now or clock.now()
    reset = member.soft_bounce_reset_at
    return sum(1 for e in (member.soft_bounces or ())
               if bounce_moment(e) > now - SOFT_BOUNCE_WINDOW
               and (reset is None or bounce_moment(e) > reset))


def note_soft_bounce(address: str, event_id: str, at: datetime,
                     now: Optional[datetime] = None) -> bool:
    """Count one transient bounce of ``address`` (``event_id``: SES's feedback id, the same on
    every delivery of the event); at the third within 30 days the address is suppressed with
    source ``bounce``. Returns True when this bounce suppressed it."""
    now = now or clock.now()
    member = _member_of(address)
    if member is None or member.suppressed or at <= now - SOFT_BOUNCE_WINDOW:
        return False
    element = _element(at, event_id)
    try:
        with storage_errors():
            member.update(actions=[Member.soft_bounces.add({element})],
                          condition=Member.member_id.exists()  # never recreate a deleted member
                          & (Member.soft_bounce_reset_at.does_not_exist()
                             | (Member.soft_bounce_reset_at < at)))
    except UpdateError as exc:
        if dynamo.condition_failed(exc):
            return False  # erased, or a later delivery already started the count again
        raise
    _forget_stale(member, now)
    if member.suppressed or counted(member, now) < SOFT_BOUNCE_LIMIT:
        return False
    return suppress(address, "bounce")


def _forget_stale(member: Member, now: datetime) -> None:
    """Drop elements that can no longer count (older than the window or than the last
    delivery), so the set stays a handful of entries; a second write only when there are any."""
    reset = member.soft_bounce_reset_at
    stale = {e for e in (member.soft_bounces or ())
             if bounce_moment(e) <= now - SOFT_BOUNCE_WINDOW
             or (reset is not None and bounce_moment(e) <= reset)}
    if not stale:
        return
    try:
        with storage_errors():
            Member(member.member_id).update(actions=[Member.soft_bounces.delete(stale)],
                                            condition=Member.member_id.exists())
    except UpdateError as exc:
        if not dynamo.condition_failed(exc):
            raise


def note_delivery(at: datetime, member_id: Optional[str] = None,
                  address: Optional[str] = None) -> bool:
    """A message reached the member (SES Delivery event): their soft-bounce count starts
    again. Looked up by member id (a promotion's message tags) or else by address; one read,
    and a write only when there are soft bounces to clear. Returns True when it wrote."""
    with storage_errors():
        if member_id:
            try:
                member = Member.get(member_id)
            except Member.DoesNotExist:
                member = None
        else:
            member = _member_of(address or "")
    if member is None or not member.soft_bounces:
        return False
    obsolete = {e for e in member.soft_bounces if bounce_moment(e) <= at}
    if not obsolete:
        return False  # only bounces after this delivery: they keep counting
    try:
        with storage_errors():
            Member(member.member_id).update(
                actions=[Member.soft_bounces.delete(obsolete),
                         Member.soft_bounce_reset_at.set(at)],
                condition=Member.member_id.exists()
                & (Member.soft_bounce_reset_at.does_not_exist()
                   | (Member.soft_bounce_reset_at < at)))
    except UpdateError as exc:
        if dynamo.condition_failed(exc):
            return False  # erased, or a later delivery was recorded first
        raise
    return True
