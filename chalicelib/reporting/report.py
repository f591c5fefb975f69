"""The operator's aggregate report: every figure per day, per week, per month and over the range;
and the partners' opt-out notices still unacknowledged after 7 days (a backlog to chase).

Its figures are built only from the aggregate counters (``stats``) and the distinct-visitor
sketches (``visits``), the notice backlog from the partners' notices, which name nobody:
nothing in it can name a person. The K rule applies to every cell of the figures:

- a **day** is one figure of one whole UTC day (one ad's impressions on 2026-03-01, say); a
  count below K is reported as ``"<K"``, never its value, and a true zero as 0 (see
  ``buckets.day_cell``; per-partner figures keep the partner API's ``"<K"`` for zero);
- a **week** (Monday to Sunday, cut at a month's end) or a **month** that is over and lies
  inside the range shows its figure when it reaches K and nobody can work a hidden day out of
  it, else a lower bound ``">=N"`` (``buckets``);
- a **total** (of a figure over the range, or of several ads or partners) adds only what is
  shown: the shown months, else the shown weeks, else the days. When something is hidden it is
  a lower bound, ``">=N"``: subtracting totals, or a total and its shown parts, yields only
  shown values or zero, never a hidden one;
- a partner's **revenue** for a day, week or month is withheld when it comes from fewer than K
  transactions in that currency (or would let a hidden day's be worked out), since a sum over
  one sale is that sale.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from chalicelib import ads, partners
from chalicelib.partners import money, transactions
from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import OFFER, OFFERS, PARTNER, PARTNER_PROMOTIONS
from chalicelib.reporting.buckets import Calendar, day_cell, is_shown
from chalicelib.statistics import counters, visits

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
# Sums over ads and partners, built from their (suppressed) cells.
DERIVED_FIGURES = (
    ("ad_impressions", "Ad impressions (all ads)"),
    ("ad_clicks", "Ad clicks (all ads)"),
    ("referral_clicks", "Referral clicks (all partners)"),
    ("partner_transactions", "Partner transactions (all partners)"),
)
LABELS = {key: label for key, label, *_ in DAILY_FIGURES} | dict(DERIVED_FIGURES)
# Each figure, ad and partner is read with Queries of its own (one per shard of each of its
# counters: about 25 for an ad or a partner), so a report over 100 ads and 50 partners makes
# some 4,000 calls. They are made by this many threads at once: no more than the connections
# one DynamoDB client keeps (10), so none is opened and dropped per call.
READERS = 8


def is_suppressed(cell) -> bool:
    return isinstance(cell, str) and cell.startswith("<")


def _counts(by_day: dict, days: list) -> list:
    return [by_day.get(day, 0) for day in days]


def _rows(cal: Calendar, figures: dict) -> tuple:
    """(per day, per week, per month) rows of several figures of one report."""
    return ([{"date": day.isoformat(), **{key: f.days[i] for key, f in figures.items()}}
             for i, day in enumerate(cal.days)],
            [week.describe() | {key: f.weeks[i] for key, f in figures.items()}
             for i, week in enumerate(cal.weeks)],
            [month.describe() | {key: f.months[i] for key, f in figures.items()}
             for i, month in enumerate(cal.months)])


def _ad_row(cal: Calendar, ad, k: int) -> tuple:
    """One ad's row of the report and its figures."""
    mine = {"impressions": _figure(cal, "ad_impressions", ad.ad_id, k),
            "clicks": _figure(cal, "ad_clicks", ad.ad_id, k)}
    days, weeks, months = _rows(cal, mine)
    return ({"ad_id": ad.ad_id, "title": ad.title, "slot": ad.slot,
             "partner_id": ad.partner_id, "active": ad.active,
             "days": days, "weeks": weeks, "months": months,
             "impressions": mine["impressions"].total, "clicks": mine["clicks"].total}, mine)


def _partner_cells(counts: list, k: int) -> list:
    # The partner API writes a zero as "<K" too; both views of a day agree cell for cell.
    return [day_cell(c, k, zero=False) for c in counts]


def _money_shown(cell) -> bool:
    return isinstance(cell, str) and not is_suppressed(cell) and not cell.startswith(">=")


def _money_total(cells: list) -> str:
    """The sum of the shown amounts; ``">=N"`` when some part is withheld."""
    shown = [Decimal(c) for c in cells if _money_shown(c)]
    return (">=" if len(shown) < len(cells) else "") + str(sum(shown, Decimal(0)))


def _revenue(cal: Calendar, daily: list, k: int) -> tuple:
    """Revenue per currency: (per day, per week, per month, over the range), each a list of
    ``{currency: amount}`` (the last a single one). An amount is shown where that currency's
    sales are: a day from K sales on, a week or month where the K rule shows its count of
    sales; elsewhere the day is ``"<K"`` and a bucket the lower bound of what it shows inside."""
    days = [{} for _ in cal.days]
    weeks, months, totals = [{} for _ in cal.weeks], [{} for _ in cal.months], {}
    at = {day: i for i, day in enumerate(cal.days)}
    for currency in sorted({c for f in daily for c in f["revenue"]}):
        minor = [f["revenue"].get(currency, 0) for f in daily]
        sales = [f["transactions"].get(currency, 0) for f in daily]
        # A day without an entry had no sale in that currency, which the revenue column shows.
        sold = [currency in f["revenue"] for f in daily]
        count = cal.figure(sales, k, lo=0, cells=[
            (n if n >= k else f"<{k}") if s else 0 for n, s in zip(sales, sold)])
        day_money = [money.format_minor(m, currency) if is_shown(c) else c
                     for m, c in zip(minor, count.days)]

        def amount(bucket, cell, week_money):
            if is_shown(cell):
                return money.format_minor(sum(minor[at[d]] for d in bucket.days), currency)
            inside = cal.cover(day_money, week_money, [], shown=_money_shown, within=bucket)
            return ">=" + str(sum((Decimal(c) for c in inside if _money_shown(c)), Decimal(0)))

        week_money = [amount(w, c, []) for w, c in zip(cal.weeks, count.weeks)]
        month_money = [amount(m, c, week_money) for m, c in zip(cal.months, count.months)]
        for buckets, amounts, out in ((cal.days, day_money, days),
                                      (cal.weeks, week_money, weeks),
                                      (cal.months, month_money, months)):
            for j, bucket in enumerate(buckets):
                spans = [bucket] if isinstance(bucket, date) else bucket.days
                if any(sold[at[d]] for d in spans):
                    out[j][currency] = amounts[j]
        totals[currency] = _money_total(cal.cover(day_money, week_money, month_money,
                                                  shown=_money_shown))
    return days, weeks, months, totals


def partner_row(cal: Calendar, partner, k: int) -> tuple:
    """One partner's row of the report (per day, week and month, totals) and its figures."""
    daily = list(transactions.daily_figures(partner.partner_id, cal.days[0],
                                            cal.days[-1]).values())
    clicks = [f["clicks"] for f in daily]
    net = [sum(f["transactions"].values()) for f in daily]
    reversals = [sum(f["reversals"].values()) for f in daily]
    mine = {"clicks": cal.figure(clicks, k, cells=_partner_cells(clicks, k), lo=0),
            "transactions": cal.figure(net, k, cells=_partner_cells(net, k), lo=0),
            "reversals": cal.figure(reversals, k, cells=_partner_cells(reversals, k), lo=0)}
    days, weeks, months = _rows(cal, mine)
    revenue = _revenue(cal, daily, k)
    for rows_, amounts in zip((days, weeks, months), revenue):
        for row, amount in zip(rows_, amounts):
            row["revenue"] = amount
    return ({"partner_id": partner.partner_id, "name": partner.name,
             "status": partner.status, "days": days, "weeks": weeks, "months": months,
             "clicks": mine["clicks"].total, "transactions": mine["transactions"].total,
             "reversals": mine["reversals"].total, "revenue": revenue[3]}, mine)


def _figure(cal: Calendar, metric: str, dimension: str, k: int):
    first, last = cal.days[0], cal.days[-1]
    return cal.figure(_counts(counters.daily(metric, first, last, dimension=dimension),
                              cal.days), k)


def _visits_figure(cal: Calendar, k: int):
    return cal.figure(_counts(visits.daily(cal.days[0], cal.days[-1]), cal.days), k)


def operator_report(start: date, end: date, k: int | None = None,
                    today: date | None = None) -> dict:
    """Every aggregate figure per whole UTC day in [start, end], per week and month that is
    over, and over the range; per ad and per partner; with K."""
    k = get_settings().k_threshold if k is None else k
    cal = Calendar.of(start, end, clock.today() if today is None else today)
    every_ad, every_partner = ads.list_ads(), partners.list_all()
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="report") as pool:
        reading = {"visits": pool.submit(_visits_figure, cal, k)}
        for key, _, metric, dimension in DAILY_FIGURES:
            if metric:
                reading[key] = pool.submit(_figure, cal, metric, dimension, k)
        ad_reads = [pool.submit(_ad_row, cal, ad, k) for ad in every_ad]
        partner_reads = [pool.submit(partner_row, cal, partner, k) for partner in every_partner]
        figures = {key: future.result() for key, future in reading.items()}
        ad_rows, ad_figures = _columns([future.result() for future in ad_reads])
        partner_rows, partner_figures = _columns([future.result() for future in partner_reads])
    for key, group, field in (("ad_impressions", ad_figures, "impressions"),
                              ("ad_clicks", ad_figures, "clicks"),
                              ("referral_clicks", partner_figures, "clicks"),
                              ("partner_transactions", partner_figures, "transactions")):
        figures[key] = cal.combined([f[field] for f in group])
    days, weeks, months = _rows(cal, figures)
    return {"from": start.isoformat(), "to": end.isoformat(), "k": k,
            "figures": {key: LABELS[key] for key in figures},
            "days": days, "weeks": weeks, "months": months,
            "totals": {key: f.total for key, f in figures.items()},
            "ads": ad_rows, "partners": partner_rows,
            # Not a statistic about people but eSO's own backlog (as of now, whatever the
            # range): exact counts per partner, no member, click or notice ids.
            "unacknowledged_notices": partners.notices.overdue()}


def _columns(pairs: list) -> tuple:
    """[(row, figures), ...] → ([row, ...], [figures, ...])."""
    return [row for row, _ in pairs], [mine for _, mine in pairs]


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
    if value.startswith(">=") and not Decimal(value[2:]):
        return f"{currency} withheld (too few sales)"
    return f"{value.replace('>=', '≥')} {currency}"


def period(row: dict) -> str:
    """A row's day, week or month as a person reads it: ``2026-03-02``, ``2026-03-02 to 03-08``,
    ``2026-03``."""
    if "date" in row:
        return row["date"]
    if "month" in row:
        return row["month"]
    return f"{row['from']} to {row['to'][5:]}"


def _table(headers: list, rows: list, left: int = 1) -> list:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return [line(cells[0]), "  ".join("─" * w for w in widths)] + [line(r) for r in cells[1:]]


def render_text(report: dict) -> str:
    """The report as tables for a terminal: per day, week and month, per ad, per partner."""
    k, keys = report["k"], list(report["figures"])
    out = [f"eSO aggregate report {report['from']} … {report['to']} (UTC days)",
           f"Counts below {k} are shown as <{k}. Weeks (Monday to Sunday, cut at a month's end) "
           f"and months that are over show their figure when it reaches {k} and no hidden day "
           f"can be worked out from it; otherwise ≥ what they show inside. Totals add only what "
           f"is shown (≥ when something is hidden).", ""]
    for title, rows in (("Per day", report["days"]), ("Per week", report["weeks"]),
                        ("Per month", report["months"])):
        if not rows:
            continue
        table = [[period(row)] + [shown(row[key]) for key in keys] for row in rows]
        if title == "Per day":
            table.append(["whole range"] + [shown(report["totals"][key]) for key in keys])
        out += [title] + _table([title[4:]] + [SHORT[key] for key in keys], table) + [""]
    legend = [f"{SHORT[key]} = {report['figures'][key].lower()}" for key in keys]
    out += ["  " + ";  ".join(legend[i:i + 3]) for i in range(0, len(legend), 3)]
    out += ["", "Ads (whole range)"]
    if report["ads"]:
        out += _table(["ad", "slot", "title", "impressions", "clicks"],
                      [[a["ad_id"], a["slot"], a["title"][:32], shown(a["impressions"]),
                        shown(a["clicks"])] for a in report["ads"]], left=3)
    else:
        out.append("no ads")
    overdue = report.get("unacknowledged_notices") or []
    out += ["", "Opt-out notices partners have not acknowledged for 7 days (as of now)"]
    if overdue:
        out += _table(["partner", "name", "notices", "oldest recorded (UTC)"],
                      [[row["partner_id"], row["name"][:32], row["count"],
                        row["oldest_at"][:16].replace("T", " ")] for row in overdue], left=2)
    else:
        out.append("none")
    out += ["", "Partners"]
    if not report["partners"]:
        out.append("no partners")
    for partner in report["partners"]:
        revenue = ", ".join(money_shown(v, c) for c, v in partner["revenue"].items()) or "-"
        out += [f"{partner['partner_id']}  {partner['name']} ({partner['status']}): "
                f"clicks {shown(partner['clicks'])}, transactions "
                f"{shown(partner['transactions'])}, revenue {revenue}"]
        out += ["  " + line for line in _table(
            ["period", "clicks", "transactions", "reversals", "revenue"],
            [[period(d), shown(d["clicks"]), shown(d["transactions"]), shown(d["reversals"]),
              ", ".join(money_shown(v, c) for c, v in d["revenue"].items()) or "-"]
             for d in partner["days"] + partner["weeks"] + partner["months"]])]
    return "\n".join(out)
