"""The operator's aggregate report: every daily figure, per ad and per partner.

Built only from the aggregate counters (``stats``) and the distinct-visitor sketches
(``visits``): nothing in it can name a person. The K rule applies to every cell:

- a **cell** is one figure of one whole UTC day (one ad's impressions on 2026-03-01, say); a
  count below K is reported as ``"<K"``, never its value. Ranges are whole days, so two
  reports over different ranges are made of the very same cells;
- a **total** (of a figure over the days, or of several ads or partners on one day) is the sum
  of the cells that are shown. When some cells are suppressed it is a lower bound, written
  ``">=N"``: subtracting two totals, or a total and its shown cells, yields only shown values
  or zero, never a suppressed one;
- a partner's **revenue** on a day is withheld (``"<K"``) when it comes from fewer than K
  transactions in that currency, since a sum over one sale is that sale.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from chalicelib import ads, partners
from chalicelib.partners import money, transactions
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import OFFER, OFFERS, PARTNER, PARTNER_PROMOTIONS
from chalicelib.statistics import counters, visits
from chalicelib.statistics.suppression import suppress

# (key, what the reader sees, counter metric, counter dimension); "visits" comes from the sketch.
DAILY_FIGURES = (
    ("visits", "Visits (distinct visitors)", None, None),
    ("registrations", "Registrations", "registrations", ""),
    ("verifications", "Verified addresses", "verifications", ""),
    ("offers_granted", "Offers consent given", "consent_grants", OFFERS),
    ("offers_withdrawn", "Offers consent withdrawn", "consent_withdrawals", OFFERS),
    ("partner_promotions_granted", "Partner promotions consent given", "consent_grants",
     PARTNER_PROMOTIONS),
    ("partner_promotions_withdrawn", "Partner promotions consent withdrawn",
     "consent_withdrawals", PARTNER_PROMOTIONS),
    ("offer_deliveries", "Offers delivered", "promotion_deliveries", OFFER),
    ("partner_promotion_deliveries", "Partner promotions delivered", "promotion_deliveries",
     PARTNER),
    ("accounts_deleted", "Accounts deleted", "accounts_deleted", ""),
    ("bounces", "Bounced addresses", "bounces", ""),
    ("complaints", "Complaints", "complaints", ""),
)
# Per-day sums over ads and partners, built from their (suppressed) cells.
DERIVED_FIGURES = (
    ("ad_impressions", "Ad impressions (all ads)"),
    ("ad_clicks", "Ad clicks (all ads)"),
    ("referral_clicks", "Referral clicks (all partners)"),
    ("partner_transactions", "Partner transactions (all partners)"),
)
LABELS = {key: label for key, label, *_ in DAILY_FIGURES} | dict(DERIVED_FIGURES)


def days_of(start: date, end: date) -> list:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def total(cells) -> int | str:
    """The sum of the shown cells; ``">=N"`` when any cell is suppressed (a lower bound)."""
    cells = list(cells)
    if len(cells) == 1:  # a total of one cell is that cell, hidden or not
        return cells[0]
    shown, partial = 0, False
    for cell in cells:
        if isinstance(cell, int):
            shown += cell
        else:
            partial = True
            if cell.startswith(">="):  # a total of totals keeps what its parts showed
                shown += int(cell[2:])
    return f">={shown}" if partial else shown


def is_suppressed(cell) -> bool:
    return isinstance(cell, str) and cell.startswith("<")


def _cells(counts: dict, days: list, k: int) -> list:
    return [suppress(counts.get(day, 0), k) for day in days]


def _ad_rows(days: list, k: int) -> list:
    rows = []
    for ad in ads.list_ads():
        impressions = _cells(counters.daily("ad_impressions", days[0], days[-1],
                                         dimension=ad.ad_id), days, k)
        clicks = _cells(counters.daily("ad_clicks", days[0], days[-1], dimension=ad.ad_id), days, k)
        rows.append({"ad_id": ad.ad_id, "title": ad.title, "slot": ad.slot,
                     "partner_id": ad.partner_id, "active": ad.active,
                     "days": [{"date": d.isoformat(), "impressions": i, "clicks": c}
                              for d, i, c in zip(days, impressions, clicks)],
                     "impressions": total(impressions), "clicks": total(clicks)})
    return rows


def _revenue_cells(figures: dict, k: int) -> dict:
    return {currency: (money.format_minor(minor, currency)
                       if figures["transactions"].get(currency, 0) >= k else f"<{k}")
            for currency, minor in sorted(figures["revenue"].items())}


def _revenue_totals(day_rows: list) -> dict:
    sums, partial = {}, set()
    for row in day_rows:
        for currency, value in row["revenue"].items():
            sums.setdefault(currency, Decimal(0))
            if is_suppressed(value):
                partial.add(currency)
            else:
                sums[currency] += Decimal(value)
    return {c: (">=" if c in partial else "") + str(v) for c, v in sorted(sums.items())}


def _partner_rows(days: list, k: int) -> list:
    rows = []
    for partner in partners.list_all():
        figures = transactions.daily_figures(partner.partner_id, days[0], days[-1])
        day_rows = [{
            "date": day.isoformat(),
            "clicks": suppress(f["clicks"], k),
            "transactions": suppress(sum(f["transactions"].values()), k),
            "reversals": suppress(sum(f["reversals"].values()), k),
            "revenue": _revenue_cells(f, k),
        } for day, f in figures.items()]
        rows.append({"partner_id": partner.partner_id, "name": partner.name,
                     "status": partner.status, "days": day_rows,
                     "clicks": total(r["clicks"] for r in day_rows),
                     "transactions": total(r["transactions"] for r in day_rows),
                     "reversals": total(r["reversals"] for r in day_rows),
                     "revenue": _revenue_totals(day_rows)})
    return rows


def operator_report(start: date, end: date, k: int | None = None) -> dict:
    """Every aggregate figure per whole UTC day in [start, end], per ad and per partner, with K."""
    k = get_settings().k_threshold if k is None else k
    days = days_of(start, end)
    columns = {"visits": _cells(visits.daily(start, end), days, k)}
    for key, _, metric, dimension in DAILY_FIGURES:
        if metric:
            columns[key] = _cells(counters.daily(metric, start, end, dimension=dimension), days, k)
    ad_rows, partner_rows = _ad_rows(days, k), _partner_rows(days, k)
    for key, rows, field in (("ad_impressions", ad_rows, "impressions"),
                             ("ad_clicks", ad_rows, "clicks"),
                             ("referral_clicks", partner_rows, "clicks"),
                             ("partner_transactions", partner_rows, "transactions")):
        columns[key] = [total(row["days"][i][field] for row in rows) if rows else 0
                        for i in range(len(days))]
    day_rows = [{"date": day.isoformat(), **{key: columns[key][i] for key in columns}}
                for i, day in enumerate(days)]
    return {"from": start.isoformat(), "to": end.isoformat(), "k": k,
            "figures": {key: LABELS[key] for key in columns},
            "days": day_rows,
            "totals": {key: total(row[key] for row in day_rows) for key in columns},
            "ads": ad_rows, "partners": partner_rows}


# --- the terminal table --------------------------------------------------------------------------


SHORT = {"visits": "visits", "registrations": "regist", "verifications": "verif",
         "offers_granted": "offer+", "offers_withdrawn": "offer-",
         "partner_promotions_granted": "promo+", "partner_promotions_withdrawn": "promo-",
         "offer_deliveries": "offer✉", "partner_promotion_deliveries": "promo✉",
         "accounts_deleted": "deleted", "bounces": "bounce", "complaints": "complt",
         "ad_impressions": "ad views", "ad_clicks": "ad clk", "referral_clicks": "referral",
         "partner_transactions": "sales"}


def shown(cell) -> str:
    """A cell as a person reads it: ``1,234``, ``<10``, ``≥1,234``, or ``hidden`` (all parts <K)."""
    if isinstance(cell, int):
        return f"{cell:,}"
    if cell == ">=0":
        return "hidden"
    if isinstance(cell, str) and cell.startswith(">="):
        number = cell[2:]
        return f"≥{int(number):,}" if number.isdigit() else f"≥{number}"
    return str(cell)


def money_shown(value: str, currency: str) -> str:
    """``12.50 USD``, ``≥12.50 USD``, or ``USD withheld (<10 sales)``."""
    if is_suppressed(value):
        return f"{currency} withheld ({value} sales)"
    if value in (">=0", ">=0.00"):
        return f"{currency} withheld (too few sales each day)"
    return f"{value.replace('>=', '≥')} {currency}"


def _table(headers: list, rows: list, left: int = 1) -> list:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return [line(cells[0]), "  ".join("─" * w for w in widths)] + [line(r) for r in cells[1:]]


def render_text(report: dict) -> str:
    """The report as tables for a terminal: per-day totals, per ad, per partner."""
    k, keys = report["k"], list(report["figures"])
    out = [f"eSO aggregate report {report['from']} … {report['to']} (UTC days)",
           f"Counts below {k} are shown as <{k}; totals add only the shown counts (≥ when "
           f"some are hidden).", "", "Per day"]
    rows = [[day["date"]] + [shown(day[key]) for key in keys] for day in report["days"]]
    rows.append(["total"] + [shown(report["totals"][key]) for key in keys])
    out += _table(["day"] + [SHORT[key] for key in keys], rows)
    legend = [f"{SHORT[key]} = {report['figures'][key].lower()}" for key in keys]
    out += [""] + ["  " + ";  ".join(legend[i:i + 3]) for i in range(0, len(legend), 3)]
    out += ["", "Ads"]
    if report["ads"]:
        out += _table(["ad", "slot", "title", "impressions", "clicks"],
                      [[a["ad_id"], a["slot"], a["title"][:32], shown(a["impressions"]),
                        shown(a["clicks"])] for a in report["ads"]], left=3)
    else:
        out.append("no ads")
    out += ["", "Partners"]
    if not report["partners"]:
        out.append("no partners")
    for partner in report["partners"]:
        revenue = ", ".join(money_shown(v, c) for c, v in partner["revenue"].items()) or "-"
        out += [f"{partner['partner_id']}  {partner['name']} ({partner['status']}): "
                f"clicks {shown(partner['clicks'])}, transactions "
                f"{shown(partner['transactions'])}, revenue {revenue}"]
        out += ["  " + line for line in _table(
            ["day", "clicks", "transactions", "reversals", "revenue"],
            [[d["date"], shown(d["clicks"]), shown(d["transactions"]), shown(d["reversals"]),
              ", ".join(money_shown(v, c) for c, v in d["revenue"].items()) or "-"]
             for d in partner["days"]])]
    return "\n".join(out)
