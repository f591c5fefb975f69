"""The JSON API that belongs to no single capability: health and the policy."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.platform.policy import current_policy
from chalicelib.web.http import json_response

bp = Blueprint(__name__)


@bp.route("/healthz", methods=["GET"])
def healthz():
    return json_response({"status": "ok"})


@bp.route("/api/v1/privacy", methods=["GET"])
def privacy():
    policy = current_policy()
    return json_response({"policy": {
        "version": policy.version,
        "effective_date": policy.effective_date,
        "sha256": policy.sha256,
        "text": policy.text,
    }})


@bp.route("/api/v1/openapi.json", methods=["GET"])
def openapi_document():
    # Imported here, not with the app: the document and its module cost cold start nothing.
    from chalicelib.web.openapi import document

    return json_response(document())
