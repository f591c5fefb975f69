"""Unknown paths answer 404 in the product's own shapes.

API Gateway (and ``chalice local``) would answer an unknown path with 403 "Missing
Authentication Token". Chalice has no greedy ``{proxy+}`` routes, so catch-all routes of
depth 1..MAX_DEPTH take every path no real route claims; on AWS a GatewayResponse in
``infra/api.yaml`` turns the remaining cases (deeper paths, unknown methods) into the same 404.
"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.web.http import ANY_CONTENT, error_response, request_path
from chalicelib.web.render import page

bp = Blueprint(__name__)

MAX_DEPTH = 5
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def not_found():
    request = bp.current_request
    accepts_html = "text/html" in (request.headers.get("accept") or "")
    is_api = request_path(request).startswith(("/api/", "/partner/"))
    if accepts_html and not is_api and request.method == "GET":
        return page("not_found.html", status_code=404)
    return error_response("not_found", "There is nothing at this path.", 404)


for depth in range(1, MAX_DEPTH + 1):
    path = "".join("/{p%d}" % i for i in range(1, depth + 1))
    bp.route(path, methods=METHODS, content_types=ANY_CONTENT, name=f"not_found_{depth}")(
        lambda **_: not_found())
