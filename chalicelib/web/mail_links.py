"""The links of promotional e-mail: ``GET /r/<token>`` redirects to the link's stored target and
counts the click per promotion, link and variant. The token names no member; the visitor cookie is
neither read nor stored with the click (the middleware sets one, as on every response, for a
browser without it); the access log names the route
template, never the token."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import promotions

bp = Blueprint(__name__)


@bp.route("/r/{token}", methods=["GET"])
def follow(token):
    """302 to the target stored with the promotion (never anything of the request); an unknown
    or forged token is the not-found page, and counts nothing."""
    location = promotions.follow_link(token)
    return Response(body="", status_code=302, headers={
        "Location": location, "Cache-Control": "no-store",
        # The partner's site learns nothing of where the member read the message.
        "Referrer-Policy": "no-referrer"})
