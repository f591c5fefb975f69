"""The partners' API: ``Authorization: Bearer <api key>`` on every call.

The services are imported on first use, not with the app (cold start).
Partners' servers call it, not browsers, so the middleware's Origin check does not apply
under /partner/. The key is checked before anything else is read from the request. Responses
hold the partner's own transactions and aggregate counts only: no member, e-mail or visitor.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import members, partners, promotions
from chalicelib.partners.limits import MAX_CLICK_ID, MAX_ORDER_ID, MAX_REASON, MAX_WEBHOOK_URL
from chalicelib.platform.errors import NotFoundError, ValidationError
from chalicelib.platform.vocabulary import PARTNER
from chalicelib.promotions.limits import (
    MAX_HTML,
    MAX_STORED_BYTES,
    MAX_SUBJECT,
    MAX_TEXT,
    MAX_VARIANTS,
)
from chalicelib.web import presenters
from chalicelib.web.http import ANY_CONTENT, json_body, json_response

bp = Blueprint(__name__)

TRANSACTION = {
    "type": "object", "additionalProperties": False,
    "required": ["click_id", "order_id", "amount", "currency"],
    "properties": {
        "click_id": {"type": "string", "minLength": 1, "maxLength": MAX_CLICK_ID},
        "order_id": {"type": "string", "minLength": 1, "maxLength": MAX_ORDER_ID},
        "amount": {"type": "string", "minLength": 1, "maxLength": 32},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "occurred_at": {"type": "string", "minLength": 1, "maxLength": 40},
    },
}
# The services check meaning (currencies, order ids, ...); schemas bound types and sizes.
REVERSE = {"type": "object", "additionalProperties": False, "required": ["reason"],
           "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": MAX_REASON}}}


def authenticated_partner(request) -> str:
    """The partner id of the request's Bearer key (AuthenticationError otherwise)."""
    scheme, _, key = (request.headers.get("authorization") or "").partition(" ")
    return partners.authenticate(key.strip() if scheme.lower() == "bearer" else None)


def _query(request, allowed: set) -> dict:
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValidationError(f"Remove the unknown query parameter {', '.join(unknown)} and try "
                              "again.")
    return params


@bp.route("/partner/v1/transactions", methods=["POST"], content_types=ANY_CONTENT)
def report_transaction():
    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, TRANSACTION)
    txn, created = partners.transactions.report_transaction(partner_id, partners.transactions.Report(**data))
    return json_response({"transaction": presenters.transaction_json(txn)}, 201 if created else 200)


@bp.route("/partner/v1/transactions", methods=["GET"])
def list_transactions():
    request = bp.current_request
    partner_id = authenticated_partner(request)
    params = _query(request, {"from", "to", "cursor", "limit"})
    start, end = partners.transactions.parse_day_range(params.get("from"), params.get("to"))
    page, cursor = partners.transactions.list_transactions(partner_id, start, end, params.get("cursor"),
                                               partners.transactions.parse_limit(params.get("limit")))
    return json_response({"transactions": [presenters.transaction_json(t) for t in page],
                          "next_cursor": cursor})


@bp.route("/partner/v1/transactions/{order_id}/reverse", methods=["POST"],
          content_types=ANY_CONTENT)
def reverse_transaction(order_id):
    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, REVERSE)
    txn = partners.transactions.reverse_transaction(partner_id, order_id, data["reason"])
    return json_response({"transaction": presenters.transaction_json(txn)})


@bp.route("/partner/v1/reports/daily", methods=["GET"])
def daily_report():
    request = bp.current_request
    partner_id = authenticated_partner(request)
    params = _query(request, {"from", "to"})
    start, end = partners.transactions.parse_day_range(params.get("from"), params.get("to"))
    return json_response({"from": start.isoformat(), "to": end.isoformat(),
                          "days": partners.transactions.daily_report(partner_id, start, end)})


_CONTENT = {
    "subject": {"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT},
    "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "x-multiline": True},
    "html": {"type": "string", "minLength": 1, "maxLength": MAX_HTML, "x-multiline": True},
}
# An A/B variant says its own subject, text and/or HTML; what it leaves out is the promotion's.
VARIANT = {"type": "object", "additionalProperties": False, "minProperties": 1,
           "properties": _CONTENT}
PROMOTION = {
    "type": "object", "additionalProperties": False, "required": ["subject", "text"],
    "properties": {
        **_CONTENT,
        "variants": {"type": "array", "minItems": 2, "maxItems": MAX_VARIANTS, "items": VARIANT,
                     "description": "2-3 A/B variants: members are split evenly between them"},
        # Ids from GET /partner/v1/topics; without topics, the promotion is for every member who
        # takes partner promotions.
        "topics": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True,
                   "items": {"type": "string", "minLength": 1, "maxLength": 40}},
    },
}
# A promotion's text and HTML may be far longer than the 16 KiB other bodies get: room for
# the schema's maxima even when JSON escapes every character of them (\uXXXX: 6 bytes each),
# and with variants for as much content as a promotion may store in all.
PROMOTION_MAX_BODY_BYTES = 6 * max(MAX_SUBJECT + MAX_TEXT + MAX_HTML, MAX_STORED_BYTES) + 4096


@bp.route("/partner/v1/promotions", methods=["POST"], content_types=ANY_CONTENT)
def submit_promotion():
    """A promotion for the members who agreed to partner promotions; eSO reviews and sends it."""
    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, PROMOTION, PROMOTION_MAX_BODY_BYTES)
    promotion = promotions.create(PARTNER, data["subject"], data["text"], data.get("html"),
                                  partner_id=partner_id, variants=data.get("variants"),
                                  topics=data.get("topics"))
    return json_response({"promotion": {"id": promotion.promotion_id,
                                        "status": promotion.status}}, 202)


@bp.route("/partner/v1/topics", methods=["GET"])
def list_topics():
    """The topics a promotion may name: members choose among them."""
    authenticated_partner(bp.current_request)
    return json_response({"topics": [{"id": t.topic_id, "name": t.name}
                                     for t in members.topics.list_topics()]})


@bp.route("/partner/v1/promotions/{promotion_id}", methods=["GET"])
def promotion_status(promotion_id):
    """Status, aggregate delivery counts and engagement (clicks per link and variant, the A/B
    winner) of the partner's own promotion, under the K rule; never who."""
    partner_id = authenticated_partner(bp.current_request)
    try:
        promotion = promotions.get(promotion_id)
    except NotFoundError:
        promotion = None
    if promotion is None or promotion.kind != PARTNER or promotion.partner_id != partner_id:
        raise NotFoundError("There is no promotion with this id. Check the id.")
    counts = promotions.delivery_counts(promotion)
    return json_response({"promotion": presenters.promotion_status_json(
        promotion, counts, promotions.engagement_figures(promotion, counts))})


WEBHOOK = {"type": "object", "additionalProperties": False, "required": ["url"],
           "properties": {"url": {"type": "string", "minLength": 1,
                                  "maxLength": MAX_WEBHOOK_URL}}}


@bp.route("/partner/v1/webhook", methods=["PUT"], content_types=ANY_CONTENT)
def put_webhook():
    """Where opt-out notices go; a new signing secret each time, shown in this answer only."""
    request = bp.current_request
    partner_id = authenticated_partner(request)
    data = json_body(request, WEBHOOK)
    webhook = partners.notices.register_webhook(partner_id, data["url"])
    return json_response({"webhook": presenters.webhook_json(webhook)})


@bp.route("/partner/v1/webhook", methods=["GET"])
def get_webhook():
    partner_id = authenticated_partner(bp.current_request)
    webhook = partners.notices.webhook_of(partner_id)
    if webhook is None:
        raise NotFoundError("You have no webhook. Set one with PUT /partner/v1/webhook.",
                            code="no_webhook")
    return json_response({"webhook": presenters.webhook_json(webhook)})


@bp.route("/partner/v1/webhook", methods=["DELETE"])
def delete_webhook():
    partner_id = authenticated_partner(bp.current_request)
    partners.notices.remove_webhook(partner_id)
    return Response(body="", status_code=204, headers={"Cache-Control": "no-store"})
