"""A member writes to a marketing partner: the only way a partner learns who a member is.

The member sees exactly what will be shared (name, e-mail address, message) and confirms.
The sharing is recorded before the e-mail leaves (what, when, to whom), so nothing is ever
shared without a record; the record is part of the member's export and goes with erasure.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

from chalicelib import mail, partners, ratelimit
from chalicelib.crypto import sign
from chalicelib.db import storage_errors
from chalicelib.errors import EsoError, NotFoundError, ValidationError
from chalicelib.models import PartnerContact
from chalicelib.text import check_text

MAX_MESSAGE = 2000
PER_MEMBER_PER_HOUR = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reachable_partner(partner_id: str):
    """An active partner that takes messages and shows its privacy policy, else NotFoundError."""
    partner = partners.get_active(partner_id)
    if not partner.contact_email or not partner.privacy_policy_url:
        raise NotFoundError("this partner does not take messages through eSO")
    return partner


def clean_message(message: str) -> str:
    text = _CONTROL.sub("", check_text(message or "", "message", multiline=True)).strip()
    if not text:
        raise ValidationError("write a message", code="invalid_message", field="message")
    if len(text) > MAX_MESSAGE:
        raise ValidationError(f"the message can have at most {MAX_MESSAGE} characters",
                              code="invalid_message", field="message")
    return text


def preview(member_id: str, partner_id: str, message: str | None = None) -> dict:
    """Exactly what ``send`` would share, for the member to see before confirming."""
    from chalicelib.members import get_member

    partner = reachable_partner(partner_id)
    member = get_member(member_id)
    return {"partner": partners.presented(partner), "name": member.display_name,
            "email": member.email,
            "message": clean_message(message) if message is not None else ""}


def send(member_id: str, partner_id: str, message: str,
         now: datetime | None = None) -> PartnerContact:
    """Share the member's name, e-mail and message with the partner by e-mail, recorded."""
    now = now or datetime.now(timezone.utc)
    shared = preview(member_id, partner_id, message)
    partner = reachable_partner(partner_id)
    ratelimit.take("partner-contact:" + sign("rate-limit", member_id), PER_MEMBER_PER_HOUR, 3600,
                   now=now.timestamp(),
                   message="You have written to partners several times; try again in an hour.")
    record = PartnerContact(member_id, f"{now.isoformat()}#{secrets.token_hex(4)}",
                            partner_id=partner.partner_id, partner_name=partner.name,
                            sent_to=partner.contact_email, sent_at=now,
                            shared_name=shared["name"], shared_email=shared["email"],
                            shared_message=shared["message"], status="sending")
    with storage_errors():
        record.save()
    try:
        mail.send(mail.Message(partner.contact_email, "partner_contact", {
            "partner_name": partner.name, "name": shared["name"], "email": shared["email"],
            "message": shared["message"]}, reply_to=shared["email"]))
    except EsoError:
        with storage_errors():
            record.update(actions=[PartnerContact.status.set("failed")])
        raise
    with storage_errors():
        record.update(actions=[PartnerContact.status.set("sent")])
    return record


def list_for_member(member_id: str) -> list:
    """What the member shared with which partner and when, oldest first (for the export)."""
    with storage_errors():
        records = list(PartnerContact.query(member_id, consistent_read=True))
    known = partners.get_many(r.partner_id for r in records)
    return [{"partner": {**partners.presented(known.get(r.partner_id), r.partner_id),
                         "name": r.partner_name},
             "sent_at": r.sent_at.isoformat(), "sent_to": r.sent_to, "status": r.status,
             "shared": {"name": r.shared_name, "email": r.shared_email,
                        "message": r.shared_message}} for r in records]


def erase(member_id: str) -> None:
    """Delete the member's sharing records (they hold the address and the message)."""
    with storage_errors():
        with PartnerContact.batch_write() as batch:
            for record in PartnerContact.query(member_id, consistent_read=True):
                batch.delete(PartnerContact(member_id, record.contact_id))
