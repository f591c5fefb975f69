"""RFC 8058 one-click unsubscribe: POST withdraws at once, GET only asks for confirmation."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import promotions
from chalicelib.platform.errors import EsoError
from chalicelib.platform.vocabulary import OFFERS, PARTNER_PROMOTIONS
from chalicelib.web.errors import status_for
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.views import member_page

bp = Blueprint(__name__)

LABELS = {OFFERS: "special offers and services from eSmallOffice",
          PARTNER_PROMOTIONS: "product promotions from our marketing partners"}


@bp.route("/unsubscribe", methods=["GET"])
def confirm():
    """Shows what the link would do; link scanners that open it change nothing."""
    request = bp.current_request
    token = query_param(request, "token") or ""
    try:
        _, purpose = promotions.read_unsubscribe_token(token)
    except EsoError as exc:
        return member_page(request, "unsubscribe.html", status_code=status_for(exc),
                           error=exc.message, token="", label="")
    return member_page(request, "unsubscribe.html", token=token, label=LABELS[purpose])


@bp.route("/unsubscribe", methods=["POST"], content_types=ANY_CONTENT)
def one_click():
    """``List-Unsubscribe=One-Click`` from a mail client, or the confirmation button."""
    request = bp.current_request
    try:
        purpose = promotions.unsubscribe(query_param(request, "token") or "")
    except EsoError as exc:
        return member_page(request, "unsubscribe.html", status_code=status_for(exc),
                           error=exc.message, token="", label="")
    return member_page(request, "unsubscribe.html", token="", label=LABELS[purpose], done=True)
