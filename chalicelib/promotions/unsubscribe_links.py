"""One-click unsubscribe (RFC 8058): signed links that name a member and a purpose."""
from __future__ import annotations

from typing import Optional

from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.platform.crypto import sign, verify_signature
from chalicelib.platform.errors import NotFoundError, ValidationError
from chalicelib.platform.settings import get_settings

_PURPOSE_CODES = {"offers": "o", "partner_promotions": "p"}
_CODE_PURPOSES = {v: k for k, v in _PURPOSE_CODES.items()}


def unsubscribe_token(member_id: str, purpose: str) -> str:
    """``<member id>.<purpose code>.<HMAC>``: names a member and a purpose, never an address."""
    message = f"{member_id}.{_PURPOSE_CODES[purpose]}"
    return f"{message}.{sign('unsubscribe', message)}"


def unsubscribe_url(member_id: str, purpose: str) -> str:
    return f"{get_settings().base_url}/unsubscribe?token={unsubscribe_token(member_id, purpose)}"


def read_unsubscribe_token(token: Optional[str]) -> tuple:
    """(member id, purpose) of a genuine token; ValidationError otherwise."""
    parts = (token or "").split(".")
    if (len(parts) != 3 or len(token) > 200 or parts[1] not in _CODE_PURPOSES
            or not verify_signature("unsubscribe", f"{parts[0]}.{parts[1]}", parts[2])):
        raise ValidationError("This unsubscribe link is not valid. Copy the whole link from the "
                              "e-mail, or change your choices in your account.", code="invalid_token",
                              field="token")
    return parts[0], _CODE_PURPOSES[parts[1]]


def unsubscribe(token: str) -> str:
    """Withdraw the token's purpose at once (source ``unsubscribe_link``); returns the purpose.

    A deleted member's token changes nothing and still answers as done.
    """
    member_id, purpose = read_unsubscribe_token(token)
    try:
        consent.change(member_id, {purpose: False}, Provenance("unsubscribe_link", "/unsubscribe"))
    except NotFoundError:
        pass
    return purpose
