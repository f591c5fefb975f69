"""A member writes to a marketing partner: the only way a partner learns who a member is.

The member sees exactly what will be shared (name, e-mail address, message) and confirms.
The sharing is recorded before the e-mail leaves (what, when, to whom), so nothing is ever
shared without a record; the record is part of the member's export and goes with erasure.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from chalicelib import members
from chalicelib.partners import registry
from chalicelib.partners.limits import MAX_MESSAGE
from chalicelib.partners.models import PartnerContact
from chalicelib.platform import clock, mail, ratelimit
from chalicelib.platform.crypto import sign
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import EsoError, NotFoundError, ValidationError
from chalicelib.platform.text import check_text

PER_MEMBER_PER_HOUR = 5
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reachable_partner(partner_id: str):
    """An active partner that takes messages and shows its privacy policy, else NotFoundError."""
    partner = registry.get_active(partner_id)
    if not partner.contact_email or not partner.privacy_policy_url:
        raise NotFoundError("This partner does not take messages through eSO.")
    return partner


def clean_message(message: str) -> str:
    text = _CONTROL.sub("", check_text(message or "", "message", multiline=True)).strip()
    if not text:
        raise ValidationError("Write your message, then review it.", code="invalid_message",
                              field="message")
    if len(text) > MAX_MESSAGE:
        raise ValidationError(f"The message can have at most {MAX_MESSAGE} characters. Shorten it "
                              "and try again.",
                              code="invalid_message", field="message")
    return text


def preview(member_id: str, partner_id: str, message: str | None = None) -> dict:
    """Exactly what ``send`` would share, for the member to see before confirming."""
    partner = reachable_partner(partner_id)
    member = members.get_member(member_id)
    return {"partner": registry.presented(partner), "name": member.display_name,
            "email": member.email,
            "message": clean_message(message) if message is not None else ""}


def send(member_id: str, partner_id: str, message: str,
         now: datetime | None = None) -> PartnerContact:
    """Share the member's name, e-mail and message with the partner by e-mail, recorded."""
    now = now or clock.now()
    shared = preview(member_id, partner_id, message)
    partner = reachable_partner(partner_id)
    ratelimit.take("partner-contact:" + sign("rate-limit", member_id), PER_MEMBER_PER_HOUR, 3600,
                   now=now.timestamp(),
                   message="You have written to partners several times already. Try again "
                           "in an hour.")
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
