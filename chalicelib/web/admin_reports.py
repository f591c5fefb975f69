"""The console's Reports: the operator report for a range of days, in the page (the same
figures, charts and K rule as ``cli report``), as CSV, and as the CLI's self-contained HTML
file. A range is at most 92 days here (longer ones: the CLI); bad dates or a range the wrong
way round are answered 400 with the field at fault. Downloads are written to the audit log."""
from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib import partners, reporting
from chalicelib.platform import clock
from chalicelib.platform.errors import EsoError, ValidationError
from chalicelib.web.admin_pages import _page, _record, _signed_in
from chalicelib.web.http import query_param

bp = Blueprint(__name__)

MAX_DAYS = 92


def _range(request) -> tuple:
    """The asked range (default: the last 7 days up to today), checked as the CLI checks it,
    and at most ``MAX_DAYS`` days."""
    today = clock.today()
    start = query_param(request, "from") or (today - timedelta(days=6)).isoformat()
    end = query_param(request, "to") or today.isoformat()
    first, last = partners.transactions.parse_day_range(start, end)
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(f"Ask for at most {MAX_DAYS} days here; the CLI's report command "
                              "takes up to a year.", code="invalid_date", field="to")
    return first, last


def _refused(request, context, exc: EsoError) -> Response:
    """The form again, with what is wrong with the range (and nothing computed)."""
    reporting.use_filters()
    return _page(request, "admin/report.html", exc=exc, operator=context, report=None,
                 form={"from": query_param(request, "from") or "",
                       "to": query_param(request, "to") or ""},
                 error_fields=(exc.field,) if exc.field else ())


@bp.route("/admin/reports", methods=["GET"])
def report_page():
    request = bp.current_request
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        first, last = _range(request)
    except EsoError as exc:
        return _refused(request, context, exc)
    report = reporting.operator_report(first, last)
    return _page(request, "admin/report.html", operator=context, report=report,
                 form={"from": first.isoformat(), "to": last.isoformat()},
                 **reporting.drawing(report))


def _download(request, kind: str) -> Response:
    context, elsewhere = _signed_in(request)
    if elsewhere:
        return elsewhere
    try:
        first, last = _range(request)
    except EsoError as exc:
        return _refused(request, context, exc)
    report = reporting.operator_report(first, last)
    if kind == "csv":
        body, media, extension = reporting.as_csv(report), "text/csv; charset=utf-8", "csv"
        rows = body.count("\r\n") - 1
    else:
        body, media, extension = reporting.render(report), "text/html; charset=utf-8", "html"
        rows = len(report["days"])
    _record(request, context, "report_exported", **{"from": first.isoformat(),
                                                    "to": last.isoformat(), "rows": rows,
                                                    "method": kind})
    return Response(body=body, status_code=200, headers={
        "Content-Type": media, "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="eso-report-{first}-{last}.{extension}"'})


@bp.route("/admin/reports/csv", methods=["GET"])
def report_csv():
    return _download(bp.current_request, "csv")


@bp.route("/admin/reports/html", methods=["GET"])
def report_html():
    return _download(bp.current_request, "html")
