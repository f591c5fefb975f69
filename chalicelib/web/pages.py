"""HTML pages that belong to no single capability: home, privacy, static assets."""
from __future__ import annotations

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.privacy import current_policy
from chalicelib.web.render import page
from chalicelib.web.views import member_page

bp = Blueprint(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"site.css": "text/css; charset=utf-8", "site.js": "text/javascript; charset=utf-8"}


@bp.route("/", methods=["GET"])
def home():
    return member_page(bp.current_request, "index.html")


@bp.route("/privacy", methods=["GET"])
def privacy():
    return member_page(bp.current_request, "privacy.html", policy=current_policy())


@bp.route("/assets/{name}", methods=["GET"])
def asset(name):
    if name not in ASSETS:
        from chalicelib.web.fallback import not_found

        return not_found()
    body = (STATIC / name).read_text(encoding="utf-8")
    return Response(body=body, status_code=200, headers={
        "Content-Type": ASSETS[name], "Cache-Control": "public, max-age=3600"})
