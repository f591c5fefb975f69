"""SES events (through the configuration set's SNS topic): bounces and complaints, and the
Send and Delivery events that confirm a promotion's message went out."""
from __future__ import annotations

import json

from chalicelib import members
from chalicelib.promotions import sending


def handle_ses_event(message: str) -> int:
    """An SES event from the configuration set's SNS topic. Permanent bounces and complaints
    suppress the address and withdraw its consents; transient bounces change nothing.
    Returns how many members were suppressed."""
    try:
        event = json.loads(message)
    except ValueError:
        raise ValueError("not an SES event") from None
    kind = event.get("eventType") or event.get("notificationType")
    if kind in ("Send", "Delivery"):
        _confirm(event.get("mail") or {})
        return 0
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return 0
        addresses = [r.get("emailAddress") for r in bounce.get("bouncedRecipients", [])]
        source = "bounce"
    elif kind == "Complaint":
        addresses = [r.get("emailAddress") for r in
                     (event.get("complaint") or {}).get("complainedRecipients", [])]
        source = "complaint"
    else:
        return 0
    return sum(members.suppress(address, source) for address in addresses if isinstance(address, str))


def _confirm(mail: dict) -> None:
    """A promotion's message SES accepted (Send) or delivered: confirm its ledger entry if a
    dead worker left it ``claimed``. Other mail (no promotion tags) is not ours to record."""
    tags = mail.get("tags") or {}
    promotion = (tags.get(sending.TAG_PROMOTION) or [None])[0]
    member = (tags.get(sending.TAG_MEMBER) or [None])[0]
    message_id = mail.get("messageId")
    if all(isinstance(v, str) and v for v in (promotion, member, message_id)):
        sending.confirm_claim(promotion, member, message_id)
