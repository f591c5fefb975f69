"""Pause links from promotional e-mail: GET only shows the choice, POST pauses (no login; the
link's signed token is the authority, as for one-click unsubscribe)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import members, promotions
from chalicelib.platform import clock
from chalicelib.platform.errors import EsoError
from chalicelib.platform.vocabulary import SNOOZE_PERIODS
from chalicelib.web import wording
from chalicelib.web.errors import status_for
from chalicelib.web.http import ANY_CONTENT, query_param
from chalicelib.web.views import member_page

bp = Blueprint(__name__)


def _day(moment) -> str:
    return clock.iso(moment)[:16].replace("T", " ")


@bp.route("/snooze", methods=["GET"])
def choose():
    """The three pauses, the link's own first; link scanners that open it change nothing."""
    request = bp.current_request
    token = query_param(request, "token") or ""
    try:
        promotions.read_snooze_token(token)
    except EsoError as exc:
        return member_page(request, "snooze.html", status_code=status_for(exc),
                           error=exc.message, token="")
    now = clock.now()
    chosen = query_param(request, "period")
    periods = [{"period": p, "label": wording.SNOOZE_LABELS[p],
                "until": _day(members.preferences.snooze_end(p, now))}
               for p in sorted(SNOOZE_PERIODS, key=lambda p: p != chosen)]
    return member_page(request, "snooze.html", token=token, periods=periods,
                       chosen=chosen if chosen in SNOOZE_PERIODS else None)


@bp.route("/snooze", methods=["POST"], content_types=ANY_CONTENT)
def pause():
    """The page's button, or a one-click POST of the link itself."""
    request = bp.current_request
    try:
        until = promotions.snooze_by_link(query_param(request, "token") or "",
                                          query_param(request, "period"))
    except EsoError as exc:
        return member_page(request, "snooze.html", status_code=status_for(exc),
                           error=exc.message, token="")
    return member_page(request, "snooze.html", token="", done=True, until=_day(until))
