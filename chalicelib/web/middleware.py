"""Cross-cutting HTTP behaviour, applied to every response of the API.

- every response to a request without a valid visitor cookie sets ``__Host-eso_vid`` (the
  links of promotional e-mail, ``/r/``, too: nothing on the server ties that cookie to the
  click, which is counted without it);
- every response carries the security headers (CSP, nosniff, Referrer-Policy, no framing); the
  CSP allows the asset origin (``ESO_ASSETS_ORIGIN``) for scripts, styles and images when set;
- Chalice's own errors (405, 415, bad JSON, unhandled exceptions) are rewritten into the
  product's error model, so no response ever has another error shape;
- one structured log line per request, with the API Gateway request id as correlation id and
  the route template (never the raw path or query, which may hold tokens);
- a page view (a successful HTML GET) or an ad request counts the visitor in the day's
  distinct-visitor sketch (``chalicelib.statistics.visits``; usually no DynamoDB call at all).
"""
from __future__ import annotations

import functools
import json
import re
import time
from typing import Optional

from chalicelib import statistics  # its modules load on first use: only a page view pays
from chalicelib.platform import observability
from chalicelib.platform.errors import UnavailableError
from chalicelib.platform.settings import get_settings
from chalicelib.web import cookies
from chalicelib.web.auth import origin_allowed
from chalicelib.web.http import INTERNAL_ERROR, error_body, error_response, request_path
from chalicelib.web.visitor import visitor_id


def _csp(assets_origin: Optional[str] = None) -> str:
    """The pages' CSP. With an asset origin (``ESO_ASSETS_ORIGIN``) scripts, stylesheets and
    images may come from exactly that origin too; nothing else is loosened."""
    extra = f" {assets_origin}" if assets_origin else ""
    return (f"default-src 'self'; script-src 'self'{extra}; style-src 'self'{extra}; "
            f"img-src 'self'{extra} https: data:; connect-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


CSP = _csp()

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "interest-cohort=(), browsing-topics=()",
}


@functools.lru_cache(maxsize=4)
def _headers_for(assets_origin: Optional[str]) -> dict:
    return {**SECURITY_HEADERS, "Content-Security-Policy": _csp(assets_origin)}


def security_headers() -> dict:
    """The security headers of every response, for the asset origin in force."""
    return _headers_for(get_settings().assets_origin)


_CHALICE_MESSAGES = {
    405: ("method_not_allowed", "This method is not allowed on this path."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    500: ("internal_error", INTERNAL_ERROR),
}


def _snake(name: str) -> str:
    name = re.sub(r"Error$", "", name) or name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _normalise_error(response) -> None:
    """Rewrite Chalice's ``{"Code", "Message"}`` errors into the product's error model."""
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        status = response.status_code
        code, message = _CHALICE_MESSAGES.get(status, (_snake(body["Code"]), body["Message"]))
        if status == 400 and "JSON" in str(body["Message"]):
            code, message = "invalid_json", "The body is not valid JSON. Correct it and try again."
        response.body = json.dumps(error_body(code, message), separators=(",", ":"))
        response.headers.pop("content-type", None)
        response.headers["Content-Type"] = "application/json"


UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Paths whose callers are not browsers on this site: partners' servers and mail providers'
# one-click unsubscribe (RFC 8058). They are authenticated by a key or a signed token.
ORIGIN_EXEMPT = ("/partner/", "/unsubscribe")


ADMIN_PREFIX = "/admin"


def _is_console(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def _csrf_refusal(request):
    path = request_path(request)
    if _is_console(path):
        return _admin_refusal(request)
    if request.method not in UNSAFE_METHODS:
        return None
    if path.startswith(ORIGIN_EXEMPT) or origin_allowed(request):
        return None
    return error_response("csrf", "Requests from other sites are not accepted here.", 403)


def _admin_refusal(request):
    """The console is stricter: a request naming another site is refused whatever its method,
    and a state-changing one must name this site (a browser always sends Origin with it)."""
    has_origin = request.headers.get("origin") is not None
    if (has_origin and not origin_allowed(request)) or (
            request.method in UNSAFE_METHODS and not has_origin):
        return error_response("csrf", "Requests from other sites are not accepted here.", 403)
    return None


def eso_http_middleware(request, get_response):
    started = time.perf_counter()
    request_id = _request_id(request)
    request.eso_request_id = request_id  # the audit log names the request of each action
    observability.set_correlation_id(request_id)
    vid = visitor_id(request)
    # Read before any work: a bad asset origin setting fails the request before it changes
    # anything, not after.
    headers = security_headers()
    try:
        response = _csrf_refusal(request) or get_response(request)
        _normalise_error(response)
        if _is_visit(request, response):
            _count_visit(vid)
    finally:
        observability.flush_metrics()
    if request.eso_visitor_is_new:
        cookies.add_set_cookie(response, cookies.visitor_cookie(vid))
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    if request_id:
        response.headers["X-Request-Id"] = request_id
    _log_request(request, response, started, request_id)
    return response


def _request_id(request) -> str:
    """API Gateway's request id; the Lambda request id or a fresh one where there is none
    (chalice local, the test client)."""
    request_id = (request.context or {}).get("requestId")
    if not request_id:
        request_id = getattr(request.lambda_context, "aws_request_id", None)
    if not request_id:
        import uuid  # (with the platform module it loads: ~4 ms of cold start otherwise)

        request_id = str(uuid.uuid4())
    return request_id
# What counts as a visit: a page a person sees, or an ad a page asks for. Not the JSON API,
# assets, redirects or the partner API, so a visit costs nothing on the paths that are not one.
VISIT_ROUTES = ("/api/v1/ads/next",)


def _is_visit(request, response) -> bool:
    if request.method != "GET" or response.status_code not in (200, 204):
        return False
    if _is_console(request_path(request)):
        return False  # operators at work are not the portal's visitors
    content_type = response.headers.get("Content-Type") or ""
    return (content_type.startswith("text/html")
            or (request.context or {}).get("resourcePath") in VISIT_ROUTES)


def _count_visit(vid: str) -> None:
    """Add the visitor to today's sketch; analytics never fail or slow a page on error."""
    try:
        statistics.visits.record(vid)
    except UnavailableError:
        observability.get_logger().warning("visit not counted: storage unavailable")


def _log_request(request, response, started, request_id) -> None:
    logger = observability.get_logger()
    level = logger.warning if response.status_code >= 500 else logger.info
    level("request", extra={
        "method": request.method,
        "route": (request.context or {}).get("resourcePath"),
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    })
