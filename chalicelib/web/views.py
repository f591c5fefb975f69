"""Rendering a page with what every page needs: whether a member is signed in, a CSRF token,
the confirmation of a change just made, and which fields an error is about."""
from __future__ import annotations

from chalice import Response

from chalicelib.platform.errors import EsoError
from chalicelib.web import wording
from chalicelib.web.auth import csrf_token, current_session
from chalicelib.web.errors import status_for
from chalicelib.web.http import query_param
from chalicelib.web.render import page

# An error about a pair of credentials names no one field: it is about both.
CREDENTIALS = ("email", "password")


def error_fields(exc: EsoError) -> tuple:
    """The form fields an error is about: its ``field``, or both credentials when the pair
    was refused (site.js applies the same rule to the JSON API's errors)."""
    if exc.field:
        return (exc.field,)
    if exc.code == "invalid_credentials":
        return CREDENTIALS
    return ()


def member_page(request, template: str, status_code: int = 200, headers: dict | None = None,
                signed_in: bool | None = None, **context) -> Response:
    if signed_in is None:
        signed_in = current_session(request) is not None
    if "notice" not in context:
        context["notice"] = wording.redirect_notice(query_param(request, "done"), signed_in)
    return page(template, status_code=status_code, headers=headers, member=signed_in,
                csrf_token=csrf_token(request), **context)


def form_error_page(request, template: str, exc: EsoError, **context) -> Response:
    """A form's page again, with the error's status, its message and the fields it is about."""
    return member_page(request, template, status_code=status_for(exc), error=exc.message,
                       error_fields=error_fields(exc), **context)
