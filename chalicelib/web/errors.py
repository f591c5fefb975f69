"""The one error map: every domain error that escapes a view becomes its HTTP answer here.

``map_errors(app)`` wraps every route once, when the app is built: an ``EsoError`` becomes
the JSON error model under ``/api/`` and ``/partner/``, and a page elsewhere (a 404 is the
not-found answer, a page or JSON as the client accepts). Status codes are decided only by
``status_for``; views that show a form again with its error ask it too.
"""
from __future__ import annotations

import functools

from chalice import Response

from chalicelib.platform import errors
from chalicelib.platform.observability import get_logger
from chalicelib.web.fallback import not_found
from chalicelib.web.http import INTERNAL_ERROR, error_response
from chalicelib.web.render import page

_STATUS = (
    (errors.UnsupportedMediaTypeError, 415),
    (errors.PayloadTooLargeError, 413),
    (errors.ValidationError, 400),
    (errors.AuthenticationError, 401),
    (errors.ForbiddenError, 403),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.UnprocessableError, 422),
    (errors.RateLimitedError, 429),
    (errors.UnavailableError, 503),
)
JSON_PREFIXES = ("/api/", "/partner/")
# RFC 6750: a refused partner key names the scheme it expects.
PARTNER_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="eso-partner"'}


def status_for(exc: errors.EsoError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _retry_headers(exc: errors.EsoError) -> dict:
    if isinstance(exc, (errors.RateLimitedError, errors.UnavailableError)):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def json_error(exc: errors.EsoError, path: str = "") -> Response:
    """The error model: ``{"error": {"code", "message", "field"?}}``."""
    status = status_for(exc)
    if status == 500:
        # Operator mistakes (missing settings) are logged with detail, never shown.
        get_logger().error("internal error", extra={"error_code": exc.code})
        return error_response("internal_error", INTERNAL_ERROR, 500)
    headers = _retry_headers(exc)
    if status == 401 and path.startswith("/partner/"):
        headers.update(PARTNER_AUTHENTICATE)
    return error_response(exc.code, exc.message, status, headers, exc.field)


def error_page(exc: errors.EsoError) -> Response:
    """A domain error as a page: its status (503 and 429 with Retry-After), a plain message."""
    status = status_for(exc)
    message = exc.message if status < 500 else INTERNAL_ERROR
    headers = _retry_headers(exc)
    if headers:
        message = exc.message
    titles = {404: "Not found", 429: "Slow down", 503: "Busy right now"}
    return page("message.html", status_code=status, headers=headers, member=False,
                csrf_token="", title=titles.get(status, "Sorry"), error=message)


def map_errors(app) -> None:
    """Wrap every route of ``app`` so that no domain error leaves a view unanswered."""
    def mapped(view, path: str):
        json_route = path.startswith(JSON_PREFIXES)

        @functools.wraps(view)
        def run(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except errors.EsoError as exc:
                if json_route:
                    return json_error(exc, path)
                if isinstance(exc, errors.NotFoundError):
                    return not_found()
                return error_page(exc)
        return run

    for path, methods in app.routes.items():
        for entry in methods.values():
            entry.view_function = mapped(entry.view_function, path)

