"""Mail to a member when the ways to sign in to their account change, so that a change they
did not make (someone with their password or session) does not go unnoticed."""
from __future__ import annotations

from chalicelib.platform import mail

CHANGES = {
    "passkey_added": "A passkey named “{name}” was added to your account.",
    "passkey_removed": "The passkey named “{name}” was removed from your account.",
    "totp_enabled": "Two-step sign-in with an authenticator app was turned on.",
    "totp_disabled": "Two-step sign-in with an authenticator app was turned off.",
    "recovery_codes_replaced": "New recovery codes were made; the old ones no longer work.",
    "recovery_code_used": "A recovery code was used to sign in; {left} of them are left.",
}


def send(email: str, change: str, **details) -> None:
    """Tell the member what changed (the text is fixed per change; details are filled in)."""
    mail.send(mail.Message(email, "sign_in_changed",
                           {"change": CHANGES[change].format(**details)}))
