"""HTML pages that belong to no single capability: home, privacy, static assets."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import ads
from chalicelib.platform import assets, errors, observability
from chalicelib.platform.policy import current_policy
from chalicelib.web.fallback import not_found
from chalicelib.web.views import member_page
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)

HOME_AD_SLOT = "home"


@bp.route("/", methods=["GET"])
def home():
    return member_page(bp.current_request, "index.html", ad=_ad_for(HOME_AD_SLOT),
                       ad_slot=HOME_AD_SLOT)


def _ad_for(slot: str):
    """The slot's next ad for this visitor; the page renders without one rather than fail."""
    try:
        request = bp.current_request
        visitor = visitor_id(request)
        return ads.next_ad(visitor, slot, new_visitor=request.eso_visitor_is_new)
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
    """A static file by its content-hashed name, kept by browsers and caches for a year.

    An old or unknown name is a 404, not a redirect to the current file: a stage serving
    assets from S3 keeps the files of earlier releases, so only a name no release ever had
    (or a page older than the previous one, served by this function) misses, and a permanent
    redirect would pin an immutable URL to content that a later release replaces again."""
    found = assets.find(name)
    if found is None:
        return not_found()
    return Response(body=found.body.decode("utf-8"), status_code=200, headers={
        "Content-Type": found.media_type, "Cache-Control": assets.IMMUTABLE})


@bp.route("/favicon.ico", methods=["GET"])
def favicon():
    """The site icon for clients that ask for /favicon.ico rather than follow the pages'
    ``<link rel="icon">``: the same SVG (text, so API Gateway passes it unchanged)."""
    icon = assets.manifest()["favicon.svg"]
    return Response(body=icon.body.decode("utf-8"), status_code=200, headers={
        "Content-Type": icon.media_type, "Cache-Control": assets.FAVICON_CACHE})
