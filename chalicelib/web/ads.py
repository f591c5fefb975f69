"""The ad routes of SPEC §4: the next ad of a slot (JSON) and the click redirect."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import errors
from chalicelib.web.http import api_view, json_response, query_param
from chalicelib.web.middleware import visitor_id

bp = Blueprint(__name__)


@bp.route("/api/v1/ads/next", methods=["GET"])
@api_view
def next_ad():
    from chalicelib import ads

    request = bp.current_request
    slot = query_param(request, "slot")
    if not slot:
        raise errors.ValidationError("missing query parameter: slot", field="slot")
    ad = ads.next_ad(visitor_id(request), slot)
    if ad is None:
        return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
    return json_response({"ad": ad.public()})


@bp.route("/ads/{ad_id}/click", methods=["GET"])
def click(ad_id):
    from chalicelib import ads

    try:
        location = ads.click(ad_id)
    except errors.NotFoundError:
        from chalicelib.web.fallback import not_found

        return not_found()
    except errors.EsoError as exc:
        from chalicelib.web.http import response_for

        return response_for(exc)
    # The location is the ad's stored target (or its partner's referral route), never input.
    return Response(body="", status_code=302,
                    headers={"Location": location, "Cache-Control": "no-store"})
