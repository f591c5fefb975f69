"""Contact-form messages, kept for the operator console as well as mailed to the operator.

Each message is kept ``RETENTION`` (180 days) from when it was written, then DynamoDB's TTL
deletes it; until then reads leave expired ones out (TTL deletes late). A message is erased
with the account of its address (``erase_from``), and is part of that member's export
(``of_address``). Operators list the messages newest first, a page at a time, open one, and
mark it read or answered (or unread again); every read is a Query of an index, never a Scan.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Optional

from pynamodb.exceptions import UpdateError

from chalicelib.members.models import ContactMessage
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import NotFoundError, ValidationError

RETENTION = timedelta(days=180)
BOX = "messages"
UNREAD = "unread"
STATUSES = ("unread", "read", "answered")
PAGE_SIZE = 25
_ID = re.compile(r"[0-9a-f]{32}")
# How PynamoDB stores a UTCDateTimeAttribute: the only form a cursor's time may take.
_STORED_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+0000")


def store(email: str, topic: str, text: str, now: Optional[datetime] = None) -> ContactMessage:
    """Keep one message (already checked by the contact form) for the console."""
    now = now or clock.now()
    message = ContactMessage(uuid.uuid4().hex, box=BOX, created_at=now, email=email,
                             topic=topic, text=text, status="unread", unread=UNREAD,
                             expires_at=now + RETENTION)
    with storage_errors():
        message.save(condition=ContactMessage.message_id.does_not_exist())
    return message


def _live_since(now: datetime) -> datetime:
    return now - RETENTION


def _encode_cursor(last_key: dict) -> str:
    raw = json.dumps({"id": last_key["message_id"]["S"], "at": last_key["created_at"]["S"]},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        message_id, at = data["id"], data["at"]
        if not (isinstance(message_id, str) and _ID.fullmatch(message_id)
                and isinstance(at, str) and _STORED_TIME.fullmatch(at)):
            raise ValueError
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ValidationError("That page link is not valid; start from the first page.",
                              field="cursor") from None
    return {"message_id": {"S": message_id}, "box": {"S": BOX}, "created_at": {"S": at}}


def page(cursor: Optional[str] = None, limit: Optional[int] = None,
         now: Optional[datetime] = None) -> tuple:
    """(messages newest first, the next page's cursor or None): one Query of the
    ``newest-messages`` index (``PAGE_SIZE`` a page), expired messages left out."""
    now = now or clock.now()
    limit = limit or PAGE_SIZE
    start = _decode_cursor(cursor) if cursor else None
    with storage_errors():
        found = ContactMessage.newest.query(
            BOX, ContactMessage.created_at > _live_since(now), scan_index_forward=False,
            limit=limit, last_evaluated_key=start)
        items = list(found)
        last = found.last_evaluated_key
    return items, (_encode_cursor(last) if last and len(items) == limit else None)


def get(message_id: str, now: Optional[datetime] = None) -> ContactMessage:
    """One message; NotFoundError for an unknown or expired one."""
    now = now or clock.now()
    if not isinstance(message_id, str) or not _ID.fullmatch(message_id):
        raise NotFoundError("There is no such message.")
    with storage_errors():
        try:
            message = ContactMessage.get(message_id, consistent_read=True)
        except ContactMessage.DoesNotExist:
            raise NotFoundError("There is no such message.") from None
    if message.expires_at <= now:
        raise NotFoundError("There is no such message.")
    return message


def mark(message_id: str, status: str, operator_id: str,
         now: Optional[datetime] = None) -> ContactMessage:
    """Set a message's status (``unread``, ``read`` or ``answered``) and who set it when."""
    now = now or clock.now()
    if status not in STATUSES:
        raise ValidationError(f"Choose one of: {', '.join(STATUSES)}.", field="status")
    message = get(message_id, now)
    actions = [ContactMessage.status.set(status), ContactMessage.status_at.set(now),
               ContactMessage.status_by.set(operator_id),
               ContactMessage.unread.set(UNREAD) if status == "unread"
               else ContactMessage.unread.remove()]
    try:
        with storage_errors():
            message.update(actions=actions, condition=ContactMessage.message_id.exists())
    except UpdateError as exc:
        if condition_failed(exc):  # erased or expired meanwhile: never recreated
            raise NotFoundError("There is no such message.") from None
        raise
    return message


def unread_count(now: Optional[datetime] = None) -> int:
    """How many kept messages nobody has read yet (a counting Query of a sparse index)."""
    now = now or clock.now()
    with storage_errors():
        return ContactMessage.unread_messages.count(
            UNREAD, ContactMessage.created_at > _live_since(now))


def message_json(message: ContactMessage) -> dict:
    return {"id": message.message_id, "topic": message.topic, "message": message.text,
            "created_at": iso(message.created_at), "status": message.status}


def of_address(email: str, now: Optional[datetime] = None) -> list:
    """The kept messages written from ``email``, oldest first (a member's export)."""
    now = now or clock.now()
    with storage_errors():
        return [message_json(m) for m in ContactMessage.by_sender.query(
            email, ContactMessage.created_at > _live_since(now))]


def erase_from(email: str) -> int:
    """Delete every message written from ``email`` (erasure of its account); returns how many."""
    with storage_errors():
        ids = [m.message_id for m in ContactMessage.by_sender.query(email)]
        with ContactMessage.batch_write() as batch:
            for message_id in ids:
                batch.delete(ContactMessage(message_id))
    return len(ids)
