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


def error_page(exc) -> Response:
    """A domain error as a page: its status (503 and 429 with Retry-After), a plain message."""
    from chalicelib import errors
    from chalicelib.web.http import status_for

    status = status_for(exc)
    message = exc.message if status < 500 else "Something went wrong on our side."
    headers = {}
    if isinstance(exc, (errors.UnavailableError, errors.RateLimitedError)):
        headers["Retry-After"] = str(exc.retry_after)
        message = exc.message
    titles = {404: "Not found", 429: "Slow down", 503: "Busy right now"}
    return page("message.html", status_code=status, headers=headers, member=False,
                csrf_token="", title=titles.get(status, "Sorry"), error=message)


def guard_pages(app) -> None:
    """Every route answers a domain error escaping its view with a page in the right status
    (a 503 stays a 503), never Chalice's 500. JSON views already answer with the error model."""
    import functools

    from chalicelib.errors import EsoError

    def guarded(view):
        @functools.wraps(view)
        def run(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except EsoError as exc:
                return error_page(exc)
        return run

    for methods in app.routes.values():
        for entry in methods.values():
            entry.view_function = guarded(entry.view_function)
