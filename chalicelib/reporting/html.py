"""The operator report as one self-contained HTML file: inline CSS and SVG charts, no script.

Geometry is computed here and drawn by ``templates/reports/operator.html`` (Jinja2,
autoescaped). Suppressed cells are never drawn as zero: a line chart shades the band below K
and puts a hollow grey marker in it for each hidden day, and breaks its line there; a lower
bound (``≥N``) is an open triangle at N. A bar whose total is a lower bound ends in a hatched
stub; a bar whose every day is hidden is only the hatched stub, labelled ``all <K``.
"""
from __future__ import annotations

import math

from chalicelib.platform.templates import add_filters, render_text
from chalicelib.reporting.report import LABELS, is_suppressed, money_shown, shown

PALETTE = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2")
LINE_GROUPS = (
    ("Visitors", "Distinct visitors per day (HyperLogLog estimate, ±1.6 %)", ("visits",)),
    ("Members", "New registrations, verified addresses and deleted accounts",
     ("registrations", "verifications", "accounts_deleted")),
    ("Consent", "Consents given and withdrawn, per purpose",
     ("offers_granted", "offers_withdrawn", "partner_promotions_granted",
      "partner_promotions_withdrawn")),
    ("Ad impressions", "Ads shown, all ads together", ("ad_impressions",)),
    ("Clicks", "Ad clicks and referral clicks to partners",
     ("ad_clicks", "referral_clicks")),
    ("Sales and e-mail", "Partner transactions; promotional e-mails delivered; bounces and "
     "complaints", ("partner_transactions", "offer_deliveries", "partner_promotion_deliveries",
                    "bounces", "complaints")),
)
WIDTH, HEIGHT = 640, 230
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 30
BAR_ROW, BAR_LABEL, BAR_WIDTH, STUB = 26, 190, 660, 16


def _value(cell) -> tuple:
    """(number drawn, kind): kind is "exact", "at_least" or "hidden"."""
    if isinstance(cell, (int, float)):
        return cell, "exact"
    if isinstance(cell, str) and cell.startswith(">="):
        return float(cell[2:]), "at_least"
    return None, "hidden"


def nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def line_chart(title: str, subtitle: str, dates: list, series: list, k: int) -> dict:
    """Geometry of a per-day line chart: ``series`` is [(label, [cell per day])]."""
    numbers = [v for _, cells in series for v, kind in map(_value, cells) if kind != "hidden"]
    top = nice_ceiling(max(numbers + [k]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(dates)

    def x(i):
        return LEFT + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(v):
        return TOP + plot_h - v / top * plot_h

    lines = []
    for number, (label, cells) in enumerate(series):
        color = PALETTE[number % len(PALETTE)]
        points, segments, run = [], [], []
        for i, cell in enumerate(cells):
            value, kind = _value(cell)
            text = f"{label}, {dates[i]}: {shown(cell)}"
            if kind == "hidden":
                points.append({"kind": kind, "x": x(i), "y": y(k / 2), "title": text})
                if len(run) > 1:
                    segments.append(run)
                run = []
                continue
            points.append({"kind": kind, "x": x(i), "y": y(value), "title": text})
            run.append((x(i), y(value)))
        if len(run) > 1:
            segments.append(run)
        paths = ["M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in seg) for seg in segments]
        lines.append({"label": label, "color": color, "paths": paths, "points": points,
                      "hidden": sum(1 for p in points if p["kind"] == "hidden")})
    every = max(1, math.ceil(n / 8))
    return {
        "title": title, "subtitle": subtitle, "width": WIDTH, "height": HEIGHT,
        "band": {"x": LEFT, "y": y(k), "width": plot_w, "height": y(0) - y(k),
                 "label_y": y(k) + 12, "label": f"<{k}: hidden"},
        "grid": [{"y": y(top * f), "label": f"{top * f:,.0f}"} for f in (0, 0.2, 0.4, 0.6, 0.8, 1)],
        "ticks": [{"x": x(i), "label": dates[i][5:]} for i in range(0, n, every)],
        "axis": {"x1": LEFT, "x2": WIDTH - RIGHT, "y": y(0)},
        "lines": lines,
    }


def bar_chart(title: str, subtitle: str, bars: list, k: int) -> dict:
    """Geometry of a horizontal bar chart: ``bars`` is [(label, total cell[, its text])]."""
    numbers = [_value(bar[1])[0] or 0 for bar in bars]
    top = nice_ceiling(max(numbers + [1]))
    room = BAR_WIDTH - BAR_LABEL - STUB - 120
    rows = []
    for i, (label, cell, *text) in enumerate(bars):
        value, kind = _value(cell)
        length = 0 if value is None else max(value / top * room, 2 if value else 0)
        partial = kind != "exact"
        everything_hidden = partial and not value
        rows.append({
            "label": label, "y": 8 + i * BAR_ROW, "x": BAR_LABEL, "length": length,
            "stub_x": BAR_LABEL + length, "partial": partial,
            "text_x": BAR_LABEL + length + (STUB if partial else 0) + 6,
            "text": f"all days <{k}" if everything_hidden else (text[0] if text else shown(cell)),
            "color": PALETTE[i % len(PALETTE)],
        })
    return {"title": title, "subtitle": subtitle, "width": BAR_WIDTH,
            "height": 16 + len(bars) * BAR_ROW, "rows": rows}


def charts(report: dict) -> tuple:
    """(line charts, bar charts) of an operator report."""
    k, dates = report["k"], [day["date"] for day in report["days"]]
    lines = [line_chart(title, subtitle, dates,
                        [(LABELS[key], [day[key] for day in report["days"]]) for key in keys], k)
             for title, subtitle, keys in LINE_GROUPS]
    bars = []
    if report["ads"]:
        bars.append(bar_chart("Impressions per ad", "Over the whole period", [
            (f"{ad['title'][:28]} ({ad['slot']})", ad["impressions"]) for ad in report["ads"]], k))
        bars.append(bar_chart("Clicks per ad", "Over the whole period", [
            (f"{ad['title'][:28]} ({ad['slot']})", ad["clicks"]) for ad in report["ads"]], k))
    if report["partners"]:
        named = [(p["name"][:32], p) for p in report["partners"]]
        bars.append(bar_chart("Referral clicks per partner", "Visitors sent through /go", [
            (name, p["clicks"]) for name, p in named], k))
        bars.append(bar_chart("Transactions per partner", "Reported sales, net of reversals", [
            (name, p["transactions"]) for name, p in named], k))
        currencies = sorted({c for p in report["partners"] for c in p["revenue"]})
        for currency in currencies:
            bars.append(bar_chart(f"Revenue per partner, {currency}",
                                  "Net of reversals; days with fewer than K sales withheld", [
                (name, _money_cell(p["revenue"].get(currency, "0")),
                 money_shown(p["revenue"].get(currency, "0"), currency)) for name, p in named], k))
    return lines, bars


def _money_cell(value: str):
    """A revenue total as a drawable cell (``">=12.5"`` stays a lower bound)."""
    if value.startswith(">="):
        return ">=" + str(float(value[2:]))
    return float(value)


def render(report: dict) -> str:
    """The whole report as one HTML document."""
    lines, bars = charts(report)
    headline = [(LABELS[key], report["totals"][key]) for key in (
        "visits", "registrations", "verifications", "ad_impressions", "ad_clicks",
        "referral_clicks", "partner_transactions")]
    add_filters({"shown": shown, "money": money_shown}, {"suppressed": is_suppressed})
    return render_text("reports/operator.html", report=report, lines=lines, bars=bars,
                       headline=headline, labels=LABELS)
