"""The JSON API of SPEC §4 that belongs to no single capability: health and the policy."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.privacy import current_policy
from chalicelib.web.http import api_view, json_response

bp = Blueprint(__name__)


@bp.route("/healthz", methods=["GET"])
@api_view
def healthz():
    return json_response({"status": "ok"})


@bp.route("/api/v1/privacy", methods=["GET"])
@api_view
def privacy():
    policy = current_policy()
    return json_response({"policy": {
        "version": policy.version,
        "effective_date": policy.effective_date,
        "sha256": policy.sha256,
        "text": policy.text,
    }})


@bp.route("/api/v1/openapi.json", methods=["GET"])
@api_view
def openapi_document():
    from chalicelib.web.openapi import document  # built on first use, not at cold start

    return json_response(document())
