"""SES events (through the configuration set's SNS topic): bounces and complaints."""
from __future__ import annotations

import json

from chalicelib import members


def handle_ses_event(message: str) -> int:
    """An SES event from the configuration set's SNS topic. Permanent bounces and complaints
    suppress the address and withdraw its consents; transient bounces change nothing.
    Returns how many members were suppressed."""
    try:
        event = json.loads(message)
    except ValueError:
        raise ValueError("not an SES event") from None
    kind = event.get("eventType") or event.get("notificationType")
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
