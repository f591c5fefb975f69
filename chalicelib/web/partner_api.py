"""The partners' API (SPEC §4, Partners): ``Authorization: Bearer <api key>`` on every call.

The services are imported on first use, not with the app (cold start).
Partners' servers call it, not browsers, so the middleware's Origin check does not apply
under /partner/. The key is checked before anything else is read from the request. Responses
hold the partner's own transactions and aggregate counts only: no member, e-mail or visitor.
"""
from __future__ import annotations

import functools

from chalice import Blueprint

from chalicelib.errors import ValidationError
from chalicelib.web.http import ANY_CONTENT, api_view, json_body, json_response

bp = Blueprint(__name__)

TRANSACTION = {
    "type": "object", "additionalProperties": False,
    "required": ["click_id", "order_id", "amount", "currency"],
    "properties": {
        "click_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "order_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "amount": {"type": "string", "minLength": 1, "maxLength": 32},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "occurred_at": {"type": "string", "minLength": 1, "maxLength": 40},
    },
}
# The services check meaning (currencies, order ids, ...); schemas bound types and sizes.
REVERSE = {"type": "object", "additionalProperties": False, "required": ["reason"],
           "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200}}}
AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="eso-partner"'}


def partner_view(fn):
    """``api_view`` for partner routes: a 401 also names the scheme (RFC 6750)."""
    wrapped = api_view(fn)

    @functools.wraps(fn)
    def view(*args, **kwargs):
        response = wrapped(*args, **kwargs)
        if response.status_code == 401:
            response.headers.update(AUTHENTICATE)
        return response

    return view


def authenticated_partner(request) -> str:
    """The partner id of the request's Bearer key (AuthenticationError otherwise)."""
    from chalicelib import partners

    scheme, _, key = (request.headers.get("authorization") or "").partition(" ")
    return partners.authenticate(key.strip() if scheme.lower() == "bearer" else None)


def _query(request, allowed: set) -> dict:
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationError(f"unknown query parameter: {', '.join(unknown)}")
    return params


@bp.route("/partner/v1/transactions", methods=["POST"], content_types=ANY_CONTENT)
@partner_view
def report_transaction():
    from chalicelib import referrals

    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, TRANSACTION)
    txn, created = referrals.report_transaction(partner_id, referrals.Report(**data))
    return json_response({"transaction": referrals.transaction_json(txn)}, 201 if created else 200)


@bp.route("/partner/v1/transactions", methods=["GET"])
@partner_view
def list_transactions():
    from chalicelib import referrals

    request = bp.current_request
    partner_id = authenticated_partner(request)
    params = _query(request, {"from", "to", "cursor", "limit"})
    start, end = referrals.parse_day_range(params.get("from"), params.get("to"))
    page, cursor = referrals.list_transactions(partner_id, start, end, params.get("cursor"),
                                               referrals.parse_limit(params.get("limit")))
    return json_response({"transactions": [referrals.transaction_json(t) for t in page],
                          "next_cursor": cursor})


@bp.route("/partner/v1/transactions/{order_id}/reverse", methods=["POST"],
          content_types=ANY_CONTENT)
@partner_view
def reverse_transaction(order_id):
    from chalicelib import referrals

    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, REVERSE)
    txn = referrals.reverse_transaction(partner_id, order_id, data["reason"])
    return json_response({"transaction": referrals.transaction_json(txn)})


@bp.route("/partner/v1/reports/daily", methods=["GET"])
@partner_view
def daily_report():
    from chalicelib import referrals

    request = bp.current_request
    partner_id = authenticated_partner(request)
    params = _query(request, {"from", "to"})
    start, end = referrals.parse_day_range(params.get("from"), params.get("to"))
    return json_response({"from": start.isoformat(), "to": end.isoformat(),
                          "days": referrals.daily_report(partner_id, start, end)})


PROMOTION = {
    "type": "object", "additionalProperties": False, "required": ["subject", "text"],
    "properties": {
        "subject": {"type": "string", "minLength": 1, "maxLength": 150},
        "text": {"type": "string", "minLength": 1, "maxLength": 20_000, "x-multiline": True},
        "html": {"type": "string", "minLength": 1, "maxLength": 100_000, "x-multiline": True},
    },
}
# A promotion's text and HTML may be far longer than the 16 KiB other bodies get: room for
# the schema's maxima even when JSON escapes every character of them (\uXXXX: 6 bytes each).
PROMOTION_MAX_BODY_BYTES = 6 * (150 + 20_000 + 100_000) + 1024


@bp.route("/partner/v1/promotions", methods=["POST"], content_types=ANY_CONTENT)
@partner_view
def submit_promotion():
    """A promotion for the members who agreed to partner promotions; eSO reviews and sends it."""
    from chalicelib import promotions

    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, PROMOTION, PROMOTION_MAX_BODY_BYTES)
    promotion = promotions.create("partner", data["subject"], data["text"], data.get("html"),
                                  partner_id=partner_id)
    return json_response({"promotion": {"id": promotion.promotion_id,
                                        "status": promotion.status}}, 202)


@bp.route("/partner/v1/promotions/{promotion_id}", methods=["GET"])
@partner_view
def promotion_status(promotion_id):
    """Status and aggregate delivery counts of the partner's own promotion; never who."""
    from chalicelib import promotions
    from chalicelib.errors import NotFoundError

    partner_id = authenticated_partner(bp.current_request)
    try:
        promotion = promotions.get(promotion_id)
    except NotFoundError:
        promotion = None
    if promotion is None or promotion.kind != "partner" or promotion.partner_id != partner_id:
        raise NotFoundError("no such promotion")
    return json_response({"promotion": promotions.status_json(promotion)})
