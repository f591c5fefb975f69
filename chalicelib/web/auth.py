"""Who is asking: the member's session from its cookie, CSRF protection, provenance.

CSRF has two layers: every state-changing request whose ``Origin`` names another
origin is refused (middleware), and every HTML form carries a token signed with the stage key
and bound to the browser's visitor cookie (``__Host-`` and HttpOnly: another site can neither
read nor set it).
"""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from chalicelib import members
from chalicelib.platform.crypto import sign, verify_signature
from chalicelib.platform.errors import AuthenticationError, ForbiddenError
from chalicelib.platform.settings import get_settings
from chalicelib.web import cookies
from chalicelib.web.visitor import visitor_id

_UNSET = object()


def session_cookie_value(request) -> Optional[str]:
    return cookies.request_cookie(request, cookies.SESSION_COOKIE)


def gpc(request) -> bool:
    """Global Privacy Control: the browser asks not to share or sell personal data."""
    return (request.headers.get("sec-gpc") or "").strip() == "1"


def current_session(request):
    """The live session of this request (one read, then cached on the request).

    A signed-in browser that sends Global Privacy Control has partner promotions withdrawn,
    once per member; the session remembers that it was applied, so it costs nothing after."""
    cached = getattr(request, "_eso_session", _UNSET)
    if cached is _UNSET:
        cached = members.sessions.lookup(session_cookie_value(request))
        if cached is not None and not cached.gpc_seen and gpc(request):
            members.consent.apply_gpc(cached.member_id, provenance(
                request, "gpc", request.path))
            members.sessions.mark_gpc_seen(cached.session_hash)
            cached = cached._replace(gpc_seen=True)
        request._eso_session = cached
    return cached


def require_session(request):
    session = current_session(request)
    if session is None:
        raise AuthenticationError("You are not logged in. Log in, then try again.",
                                  code="not_authenticated")
    return session


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(request) -> bool:
    """True unless the request's Origin names another site than this one."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request (curl, server-to-server)
    origin = origin.lower()
    settings = get_settings()
    if origin == _origin_of(settings.base_url):
        return True
    # The local stack answers on 127.0.0.1 and localhost alike: same scheme, same host header.
    host = (request.headers.get("host") or "").lower()
    return (settings.is_local and bool(host) and urlsplit(origin).netloc == host
            and urlsplit(origin).scheme == urlsplit(settings.base_url).scheme)


def request_origin(request) -> Optional[str]:
    return request.headers.get("origin") or get_settings().base_url


def provenance(request, source: str, page: str):
    """How a consent change arrived: the page it was made on and the request's origin."""
    return members.consent.Provenance(source=source, page=page, origin=request_origin(request))


def csrf_token(request) -> str:
    return sign("csrf", visitor_id(request))


def check_csrf_token(request, form: dict) -> None:
    value = cookies.request_cookie(request, cookies.VISITOR_COOKIE)
    if not cookies.is_token(value) or not verify_signature("csrf", value, form.get("csrf_token", "")):
        raise ForbiddenError("This form has expired. Reload the page and try again.", code="csrf")
