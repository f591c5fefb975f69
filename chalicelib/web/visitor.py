"""The visitor of a request: the ``__Host-eso_vid`` cookie's value, or a new one to issue."""
from __future__ import annotations

from chalicelib.web import cookies


def visitor_id(request) -> str:
    """The visitor's id for this request: theirs if valid, else the one issued with the response."""
    current = getattr(request, "eso_visitor_id", None)
    if current is None:
        value = cookies.request_cookie(request, cookies.VISITOR_COOKIE)
        if cookies.is_token(value):
            request.eso_visitor_is_new = False
            current = value
        else:
            request.eso_visitor_is_new = True
            current = cookies.new_token()
        request.eso_visitor_id = current
    return current
