"""The cookies, exactly: host-only (``__Host-``), Secure, HttpOnly, Lax. The visitor's, the
member's session, and the operator's session at /admin (a separate name and table)."""
from __future__ import annotations

import re
import secrets
from typing import Optional

VISITOR_COOKIE = "__Host-eso_vid"
SESSION_COOKIE = "__Host-eso_session"
ADMIN_COOKIE = "__Host-eso_admin"
VISITOR_MAX_AGE = 365 * 24 * 3600

# 24 URL-safe characters = 144 random bits; anything else is treated as absent.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_token(value: Optional[str]) -> bool:
    return bool(value) and bool(_TOKEN.match(value))


def parse_cookies(header: Optional[str]) -> dict:
    """Name → value of a Cookie request header (the first of duplicate names wins)."""
    cookies: dict = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies


def request_cookie(request, name: str) -> Optional[str]:
    cache = getattr(request, "_eso_cookies", None)
    if cache is None:
        cache = parse_cookies(request.headers.get("cookie"))
        request._eso_cookies = cache
    return cache.get(name)


def _cookie(name: str, value: str, max_age: Optional[int]) -> str:
    parts = [f"{name}={value}", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"]
    if max_age is not None:
        parts.insert(1, f"Max-Age={max_age}")
    return "; ".join(parts)


def visitor_cookie(value: str) -> str:
    return _cookie(VISITOR_COOKIE, value, VISITOR_MAX_AGE)


def session_cookie(value: str, max_age: int) -> str:
    return _cookie(SESSION_COOKIE, value, max_age)


def clear_session_cookie() -> str:
    return _cookie(SESSION_COOKIE, "", 0)


def admin_cookie(value: str, max_age: int) -> str:
    return _cookie(ADMIN_COOKIE, value, max_age)


def clear_admin_cookie() -> str:
    return _cookie(ADMIN_COOKIE, "", 0)


def add_set_cookie(response, cookie: str) -> None:
    """Append a Set-Cookie header; several become Chalice's multi-value headers."""
    existing = response.headers.get("Set-Cookie")
    if existing is None:
        response.headers["Set-Cookie"] = cookie
    elif isinstance(existing, list):
        existing.append(cookie)
    else:
        response.headers["Set-Cookie"] = [existing, cookie]
