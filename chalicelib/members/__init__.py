"""Members: accounts, registration and confirmation, sessions, passkeys, two-step sign-in,
consent, the contact form.

Other packages use members through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "LOGIN_FAILURES_ALLOWED": "accounts",
    "LOGIN_WINDOW_S": "accounts",
    "LoginResult": "accounts",
    "MAX_DISPLAY_NAME": "accounts",
    "MAX_REGISTRATIONS": "registration",
    "MEMBER_TABLES": "records",
    "RESEND_AFTER": "registration",
    "RESET_PASSWORD": "tokens",
    "Registration": "registration",
    "VERIFY_EMAIL": "tokens",
    "audience_ids": "audience",
    "change_display_name": "accounts",
    "change_password": "accounts",
    "confirm_password_reset": "accounts",
    "eligible": "audience",
    "end_sessions": "records",
    "erase_member": "records",
    "export_member": "records",
    "get_member": "accounts",
    "in_topics": "audience",
    "login": "accounts",
    "normalize_email": "accounts",
    "note_delivery": "bounces",
    "note_soft_bounce": "bounces",
    "profile": "records",
    "read_many": "audience",
    "register": "registration",
    "register_confirmed": "registration",
    "request_password_reset": "accounts",
    "resend_confirmation": "registration",
    "suppress": "audience",
    "link_state": "registration",
    "verify_email": "registration",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
