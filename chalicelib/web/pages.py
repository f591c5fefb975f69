"""HTML pages that belong to no single capability: home, privacy, static assets."""
from __future__ import annotations

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib import ads
from chalicelib.platform import errors, observability
from chalicelib.platform.policy import current_policy
from chalicelib.web.fallback import not_found
from chalicelib.web.views import member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

HOME_AD_SLOT = "home"

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"site.css": "text/css; charset=utf-8", "site.js": "text/javascript; charset=utf-8",
          "passkeys.js": "text/javascript; charset=utf-8",
          "admin.js": "text/javascript; charset=utf-8", "admin.css": "text/css; charset=utf-8"}


@bp.route("/", methods=["GET"])
def home():
    return member_page(bp.current_request, "index.html", ad=_ad_for(HOME_AD_SLOT),
                       ad_slot=HOME_AD_SLOT)


def _ad_for(slot: str):
    """The slot's next ad for this visitor; the page renders without one rather than fail."""
    try:
        return ads.next_ad(visitor_id(bp.current_request), slot)
    except errors.NotFoundError:
        return None
    except errors.UnavailableError:
        observability.get_logger().warning("ad slot left empty: storage unavailable", extra={"slot": slot})
        return None


@bp.route("/privacy", methods=["GET"])
def privacy():
    return member_page(bp.current_request, "privacy.html", policy=current_policy())


@bp.route("/assets/{name}", methods=["GET"])
def asset(name):
    if name not in ASSETS:
        return not_found()
    body = (STATIC / name).read_text(encoding="utf-8")
    return Response(body=body, status_code=200, headers={
        "Content-Type": ASSETS[name], "Cache-Control": "public, max-age=3600"})
