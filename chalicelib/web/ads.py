"""The ad routes: the next ad of a slot (JSON) and the click redirect."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import ads
from chalicelib.platform import errors
from chalicelib.web import presenters
from chalicelib.web.http import json_response, query_param
from chalicelib.web.visitor import visitor_id

bp = Blueprint(__name__)


@bp.route("/api/v1/ads/next", methods=["GET"])
def next_ad():
    request = bp.current_request
    slot = query_param(request, "slot")
    if not slot:
        raise errors.ValidationError("missing query parameter: slot", field="slot")
    visitor = visitor_id(request)
    ad = ads.next_ad(visitor, slot, new_visitor=request.eso_visitor_is_new)
    if ad is None:
        return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
    return json_response({"ad": presenters.ad_json(ad)})


@bp.route("/ads/{ad_id}/click", methods=["GET"])
def click(ad_id):
    location = ads.click(ad_id)
    # The location is the ad's stored target (or its partner's referral route), never input.
    return Response(body="", status_code=302,
                    headers={"Location": location, "Cache-Control": "no-store"})
