"""Who is asking at /admin: the operator's session from ``__Host-eso_admin`` only.

A member's session cookie is never read here, and the operator sessions live in their own
table: no member cookie value can name one. Pages check the session's stage, so a session
that passed only the password opens nothing but the second-factor step.
"""
from __future__ import annotations

from typing import Optional

from chalicelib import operators
from chalicelib.web import cookies

_UNSET = object()


def admin_cookie_value(request) -> Optional[str]:
    return cookies.request_cookie(request, cookies.ADMIN_COOKIE)


def current_operator(request):
    """The live operator session of this request (any stage), or None; read once."""
    cached = getattr(request, "_eso_operator", _UNSET)
    if cached is _UNSET:
        cached = operators.sessions.lookup(admin_cookie_value(request))
        request._eso_operator = cached
    return cached


def request_id(request) -> Optional[str]:
    return getattr(request, "eso_request_id", None)
