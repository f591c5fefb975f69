"""Rendering a page with what every page needs: whether a member is signed in, a CSRF token."""
from __future__ import annotations

from chalice import Response

from chalicelib.web.auth import csrf_token, current_session
from chalicelib.web.render import page


def member_page(request, template: str, status_code: int = 200, headers: dict | None = None,
                signed_in: bool | None = None, **context) -> Response:
    if signed_in is None:
        signed_in = current_session(request) is not None
    return page(template, status_code=status_code, headers=headers, member=signed_in,
                csrf_token=csrf_token(request), **context)
