"""Figures the console shows beside what an operator manages: each ad's impressions and clicks
of one UTC day, and one partner's figures over a range of days. The cells are the operator
report's, under the same K rule (a count below K reads ``<K``; a partner's zero too, as in the
partner's own API; a total that leaves something hidden is a lower bound), and they come from
the aggregate counters only (Queries, never a Scan)."""
from __future__ import annotations

from datetime import date

from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.reporting.buckets import Calendar, day_cell
from chalicelib.reporting.report import money_shown, partner_row, shown
from chalicelib.statistics import counters


def ad_day_figures(ad_ids, day: date) -> dict:
    """ad id → {"impressions", "clicks"} of ``day``, as the report shows them."""
    k = get_settings().k_threshold
    figures = {}
    for ad_id in ad_ids:
        figures[ad_id] = {
            name: shown(day_cell(sum(counters.daily(metric, day, day, dimension=ad_id).values()), k))
            for name, metric in (("impressions", "ad_impressions"), ("clicks", "ad_clicks"))}
    return figures


def _revenue_text(amounts: dict) -> str:
    return "; ".join(money_shown(value, currency) for currency, value in sorted(amounts.items()))


def partner_figures(partner, start: date, end: date, today: date | None = None) -> dict:
    """A partner's referral clicks, transactions (net of reversals), reversals and revenue per
    day of [start, end] and over the range, as the report shows them:
    ``{"days": [{"date", "clicks", "transactions", "reversals", "revenue"}], "total": {…}, "k"}``."""
    k = get_settings().k_threshold
    cal = Calendar.of(start, end, clock.today() if today is None else today)
    row, _ = partner_row(cal, partner, k)
    names = ("clicks", "transactions", "reversals")
    days = [{"date": day["date"], **{n: shown(day[n]) for n in names},
             "revenue": _revenue_text(day["revenue"])} for day in row["days"]]
    total = {n: shown(row[n]) for n in names} | {"revenue": _revenue_text(row["revenue"])}
    return {"from": start.isoformat(), "to": end.isoformat(), "k": k, "days": days,
            "total": total}
