"""The console's promotion actions: a test send of the exact message to the signed-in
operator's own address, and approving a promotion to be sent now or at a later time.

Approving is a dangerous action: it needs the second factor within the last 10 minutes (the
confirmation returns to the promotion's page), and the page that asks for the final yes shows
the SES quota forecast the CLI prints (``promotions.forecast``). Each action is written to the
audit log. The review page itself, the queue and rejection are in ``admin_pages``.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from chalice import Blueprint, Response

from chalicelib import promotions
from chalicelib.platform import clock
from chalicelib.platform.errors import ConflictError, EsoError, ValidationError
from chalicelib.web.admin_pages import (
    _form,
    _page,
    _reconfirm,
    _record,
    _review_page,
    _signed_in,
)
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.render import redirect

bp = Blueprint(__name__)

WHEN = ("now", "later")
# What a datetime-local field sends (the form says the time is UTC).
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def parse_send_at(value) -> datetime:
    """A time typed in the form (``YYYY-MM-DDTHH:MM``, UTC) as an aware datetime."""
    if not isinstance(value, str) or not _LOCAL_TIME.fullmatch(value.strip()):
        raise ValidationError("Give the time as YYYY-MM-DD HH:MM (UTC).", field="send_at")
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T")).replace(
            tzinfo=timezone.utc)
    except ValueError:
        raise ValidationError("That time does not exist; give one as YYYY-MM-DD HH:MM (UTC).",
                              field="send_at") from None


def _plan(fields: dict) -> tuple:
    """(when, send_at or None) from the approve form's fields."""
    when = fields.get("when") or "now"
    if when not in WHEN:
        raise ValidationError("Choose to send now or at a time.", field="when")
    if when == "now":
        return when, None
    return when, promotions.check_send_at(parse_send_at(fields.get("send_at")), clock.now())


def _may_approve(promotion) -> None:
    """Pending, scheduled, or approved and never started (its start could not be handed to
    the send worker: approving it again starts it)."""
    if promotion.status in ("pending_review", "scheduled") or (
            promotion.status == "approved" and promotion.window_started_at is None):
        return
    raise ConflictError(f"The promotion is {promotion.status}: only a promotion waiting for "
                        "review or scheduled can be approved.", code="invalid_state")


def _refused(request, context, promotion_id: str, exc: EsoError, **fields) -> Response:
    """The promotion page again with what went wrong next to the approve form."""
    if exc.code == "not_found":
        raise exc
    return _review_page(request, context, promotion_id, exc=exc, failed_form="approve",
                        error_fields=(exc.field,) if exc.field else (), **fields)


def _confirm_first(context, promotion_id: str):
    """Where to go for the second factor, when it was not shown in the last 10 minutes."""
    return _reconfirm(context, f"promotion:{promotion_id}")


@bp.route("/admin/promotions/{promotion_id}/test-send", methods=["POST"],
          content_types=ANY_CONTENT)
def promotion_test_send(promotion_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        _form(request)
        promotions.send_test(promotion_id, context.email, context.operator_id)
    except EsoError as exc:
        if exc.code == "not_found":
            raise
        return _review_page(request, context, promotion_id, exc=exc, failed_form="test")
    _record(request, context, "promotion_test_sent", target=promotion_id, email=context.email)
    return redirect(f"/admin/promotions/{promotion_id}?done=test-sent")


@bp.route("/admin/promotions/{promotion_id}/approve", methods=["GET"])
def promotion_approve_page(promotion_id):
    """The last step before approving: the plan, the quota forecast, and the final yes."""
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    fields = {"when": query_param(request, "when") or "now",
              "send_at": query_param(request, "send_at") or ""}
    promotion = promotions.get(promotion_id)
    try:
        _may_approve(promotion)
        when, send_at = _plan(fields)
    except EsoError as exc:
        return _refused(request, context, promotion_id, exc, when=fields["when"],
                        send_at=fields["send_at"])
    asked = _confirm_first(context, promotion_id)
    if asked:
        return asked
    forecast = promotions.forecast(promotion_id)
    return _page(request, "admin/approve.html", operator=context, promotion=promotion,
                 when=when, send_at=send_at, send_at_field=fields["send_at"],
                 forecast=forecast, warning=forecast.warning())


@bp.route("/admin/promotions/{promotion_id}/approve", methods=["POST"], content_types=ANY_CONTENT)
def promotion_approve(promotion_id):
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    fields = {}
    try:
        fields = _form(request)
        asked = _confirm_first(context, promotion_id)
        if asked:
            return asked
        promotion = promotions.get(promotion_id)
        _may_approve(promotion)
        when, send_at = _plan(fields)
        if when == "later":
            promotion = promotions.schedule(promotion_id, send_at)
            _record(request, context, "promotion_scheduled", target=promotion_id,
                    send_at=clock.iso(promotion.send_at))
            return redirect(f"/admin/promotions/{promotion_id}?done=scheduled")
        if promotion.status != "approved":
            promotions.approve(promotion_id)
    except EsoError as exc:
        return _refused(request, context, promotion_id, exc, when=fields.get("when", "now"),
                        send_at=fields.get("send_at", ""))
    _record(request, context, "promotion_approved", target=promotion_id)
    done = promotions.start_sending(promotion_id)
    return redirect(f"/admin/promotions/{promotion_id}?done={done}")
