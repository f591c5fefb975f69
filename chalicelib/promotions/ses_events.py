"""SES events (through the configuration set's SNS topic): bounces and complaints, and the
Send and Delivery events that confirm a promotion's message went out."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Optional

from chalicelib import members
from chalicelib.platform import clock
from chalicelib.promotions import sending


def handle_ses_event(message: str) -> int:
    """An SES event from the configuration set's SNS topic. Permanent bounces and complaints
    suppress the address and withdraw its consents; a third transient bounce within 30 days
    does the same (``members.bounces``), and a delivery starts that count again.
    Returns how many members were suppressed."""
    try:
        event = json.loads(message)
    except ValueError:
        raise ValueError("not an SES event") from None
    kind = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail") or {}
    if kind in ("Send", "Delivery"):
        _confirm(mail)
        if kind == "Delivery":
            _delivered(mail, event.get("delivery") or {})
        return 0
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        addresses = [r.get("emailAddress") for r in bounce.get("bouncedRecipients", [])]
        if bounce.get("bounceType") == "Transient":
            return _soft_bounce(bounce, mail, addresses)
        if bounce.get("bounceType") != "Permanent":
            return 0  # "Undetermined": SES could not tell; nothing is counted
        source = "bounce"
    elif kind == "Complaint":
        addresses = [r.get("emailAddress") for r in
                     (event.get("complaint") or {}).get("complainedRecipients", [])]
        source = "complaint"
    else:
        return 0
    return sum(members.suppress(address, source) for address in addresses if isinstance(address, str))


def _moment(value) -> Optional[datetime]:
    """An SES timestamp (``2026-03-01T10:00:00.123Z``), or None when there is none."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _soft_bounce(bounce: dict, mail: dict, addresses: list) -> int:
    """A transient bounce counts once per SES event: its feedback id (or else the message's
    id) makes a redelivered event the same entry."""
    event_id = bounce.get("feedbackId") or mail.get("messageId")
    if not isinstance(event_id, str) or not event_id:
        return 0  # nothing to tell a redelivery from a new bounce: not counted
    at = _moment(bounce.get("timestamp")) or _moment(mail.get("timestamp")) or clock.now()
    return sum(members.note_soft_bounce(address, event_id, at)
               for address in addresses if isinstance(address, str))


def _delivered(mail: dict, delivery: dict) -> None:
    """A delivered message starts its recipient's soft-bounce count again: the member named by
    a promotion's tags, or else each recipient address."""
    at = _moment(delivery.get("timestamp")) or _moment(mail.get("timestamp")) or clock.now()
    member = ((mail.get("tags") or {}).get(sending.TAG_MEMBER) or [None])[0]
    if isinstance(member, str) and member:
        members.note_delivery(at, member_id=member)
        return
    for address in delivery.get("recipients") or []:
        if isinstance(address, str):
            members.note_delivery(at, address=address)


def _confirm(mail: dict) -> None:
    """A promotion's message SES accepted (Send) or delivered: confirm its ledger entry if a
    dead worker left it ``claimed``. Other mail (no promotion tags) is not ours to record."""
    tags = mail.get("tags") or {}
    promotion = (tags.get(sending.TAG_PROMOTION) or [None])[0]
    member = (tags.get(sending.TAG_MEMBER) or [None])[0]
    message_id = mail.get("messageId")
    if all(isinstance(v, str) and v for v in (promotion, member, message_id)):
        sending.confirm_claim(promotion, member, message_id)
