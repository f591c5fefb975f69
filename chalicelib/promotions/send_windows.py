"""How many partner promotions a member may still receive: one per day, week or month.

Each member has one small record (``SendWindow``): the last partner promotion sent to them,
when, and what was there before. A send takes a member's allowance after claiming them in the
delivery ledger and before calling SES: allowed when the record is absent, older than the
member's window, or already this promotion's (a retried batch). The write is conditioned on
the version read, so when two promotions' batches reach one member at the same moment only one
write succeeds; the other reads again and finds the member at their limit. A claim released
before SES sent the message (the daily quota's pause, throttling, a member no longer eligible)
gives the allowance back: the record returns to what it was before.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from pynamodb.exceptions import DeleteError, PutError

from chalicelib import members
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import UnavailableError
from chalicelib.promotions.models import SendWindow

RECORD_TTL = timedelta(days=32)   # longer than any window (a calendar month is at most 31 days)
ATTEMPTS = 8


def _read(member_ids) -> dict:
    with storage_errors():
        return {r.member_id: r for r in SendWindow.batch_get(list(member_ids),
                                                             consistent_read=True)}


def take(promotion_id: str, recipients: list, now: datetime) -> set:
    """The ids among ``recipients`` (members, read at the moment of sending) whose allowance
    this promotion now holds; the others already had a partner promotion in their window."""
    records = _read(m.member_id for m in recipients) if recipients else {}
    allowed = set()
    for member in recipients:
        record = records.get(member.member_id)
        for _ in range(ATTEMPTS):
            if record is not None and record.promotion_id == promotion_id:
                allowed.add(member.member_id)  # taken by this promotion already (a retry)
                break
            start = members.preferences.window_start(members.preferences.frequency_of(member), now)
            if record is not None and record.last_at > start:
                break  # at the member's limit
            if _write(member.member_id, record, promotion_id, now):
                allowed.add(member.member_id)
                break
            record = _read([member.member_id]).get(member.member_id)  # someone came first
        else:
            raise UnavailableError("A member's allowance is busy. The batch will be retried.")
    return allowed


def _write(member_id: str, record: Optional[SendWindow], promotion_id: str,
           now: datetime) -> bool:
    """The allowance taken for ``promotion_id`` if the record is still as read."""
    item = SendWindow(member_id, last_at=now, promotion_id=promotion_id,
                      previous_at=record.last_at if record else None,
                      previous_promotion_id=record.promotion_id if record else None,
                      expires_at=now + RECORD_TTL)
    if record is not None:
        item.version = record.version
    try:
        with storage_errors():
            item.save()  # conditioned on the version read (absent: on there being none)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def release(promotion_id: str, member_ids: list) -> None:
    """Give back the allowances ``promotion_id`` holds of ``member_ids`` (their claims were
    released unsent): each record returns to what it was before this promotion took it."""
    records = _read(member_ids) if member_ids else {}
    for member_id in member_ids:
        record = records.get(member_id)
        for _ in range(ATTEMPTS):
            if record is None or record.promotion_id != promotion_id:
                break
            if _restore(record):
                break
            record = _read([member_id]).get(member_id)


def _restore(record: SendWindow) -> bool:
    try:
        with storage_errors():
            if record.previous_at is None:
                record.delete()  # conditioned on the version read
            else:
                SendWindow(record.member_id, last_at=record.previous_at,
                           promotion_id=record.previous_promotion_id or "",
                           version=record.version,
                           expires_at=record.previous_at + RECORD_TTL).save()
    except (PutError, DeleteError) as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def export_member(member_id: str) -> Optional[dict]:
    """The member's record: the last partner promotion sent and when (None when there is none)."""
    with storage_errors():
        try:
            record = SendWindow.get(member_id, consistent_read=True)
        except SendWindow.DoesNotExist:
            return None
    return {"last_partner_promotion_id": record.promotion_id, "last_sent_at": iso(record.last_at)}


def erase_member(member_id: str) -> None:
    with storage_errors():
        SendWindow(member_id).delete(add_version_condition=False)
