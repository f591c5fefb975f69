"""The operator report as one self-contained HTML file: inline CSS and SVG charts, no script.

Geometry is computed here and drawn by ``templates/reports/operator.html`` (Jinja2,
autoescaped). Hidden cells are never drawn as zero: a per-day chart shades the band below K
and puts a hollow grey marker in it for each hidden day, and breaks its line there; a lower
bound (``≥N``) is an open triangle at N. The per-week and per-month charts have no band (a
withheld week may well reach K): a bucket shown as nothing but "hidden" is a hollow marker on
the axis. A bar whose total is a lower bound ends in a hatched stub; a bar whose every part is
hidden is only the stub, labelled ``all <K``. Axes count in whole numbers, and bar labels are
wrapped onto as many lines as they need, never cut.
"""
from __future__ import annotations

import math

from chalicelib.platform.templates import add_filters, render_text
from chalicelib.reporting.report import LABELS, is_suppressed, money_shown, period, shown

PALETTE = ("#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2")
LINE_GROUPS = (
    ("Visitors", "Distinct visitors (HyperLogLog estimate, ±1.6 %)", ("visits",)),
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
BAR_WIDTH, BAR_LABEL, STUB, BAR_HEIGHT = 660, 230, 16, 18
LABEL_SIZE, LABEL_LINE = 11, 13      # px: the labels' font size (CSS: svg text) and line height

# Advance widths in em of DejaVu Sans (what Debian's Chromium draws system-ui with), rounded
# up: wider faces (Segoe UI, Roboto) are narrower, so a label measured here fits them too.
_NARROW, _WIDE = set("fijlrtI.,:;'|!()[] -"), set("mwMW@%…")


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    """How wide ``text`` is drawn, in px (an estimate that errs on the wide side)."""
    em = 0.0
    for ch in text:
        em += (0.42 if ch in _NARROW else 1.0 if ch in _WIDE else 0.8 if ch.isupper()
               else 0.66 if ch.isdigit() else 0.64)
    return em * size


def wrap(text: str, width: float) -> list:
    """``text`` in lines no wider than ``width`` px, broken between words (inside a word
    only when the word alone is wider)."""
    lines, line = [], ""
    for word in text.split():
        while text_width(word) > width:
            cut = 1
            while cut < len(word) and text_width(word[:cut + 1]) <= width:
                cut += 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line] if line else lines or [""]


def _value(cell) -> tuple:
    """(number drawn, kind): kind is "exact", "at_least" or "hidden"."""
    if isinstance(cell, (int, float)):
        return cell, "exact"
    if isinstance(cell, str) and cell.startswith(">=") and float(cell[2:]):
        return float(cell[2:]), "at_least"
    return None, "hidden"


def integer_axis(maximum: float, most: int = 6) -> list:
    """Whole-number ticks from 0 past ``maximum``: 0, s, 2s … with s 1, 2 or 5 × 10ⁿ, at most
    ``most`` of them, no two alike."""
    maximum = max(1, math.ceil(maximum))
    exponent = 0
    while True:
        for multiple in (1, 2, 5):
            step = multiple * 10 ** exponent
            if math.ceil(maximum / step) + 1 <= most:
                return list(range(0, math.ceil(maximum / step) * step + 1, step))
        exponent += 1


def nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def line_chart(title: str, subtitle: str, periods: list, series: list, k: int | None,
               ticks: list | None = None) -> dict:
    """Geometry of a line chart over days (``k`` given: the band below K is drawn) or over
    weeks or months (``k`` None): ``series`` is [(label, [cell per period])], ``periods`` the
    periods' names and ``ticks`` their short names on the x axis."""
    ticks = ticks or periods
    k = k if k and k > 1 else None  # K = 1 hides nothing: no band
    numbers = [v for _, cells in series for v, kind in map(_value, cells) if kind != "hidden"]
    grid = integer_axis(max(numbers + ([k] if k else [1])))
    top = grid[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(periods)

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
            text = f"{label}, {periods[i]}: {shown(cell)}"
            if kind == "hidden":
                points.append({"kind": kind, "x": x(i), "y": y(k / 2 if k else 0), "title": text})
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
        "band": k and {"x": LEFT, "y": y(k), "width": plot_w, "height": y(0) - y(k),
                       "label_y": y(k) + 12, "label": f"<{k}: hidden"},
        "grid": [{"y": y(value), "label": f"{value:,}"} for value in grid],
        "ticks": [{"x": x(i), "label": ticks[i]} for i in range(0, n, every)],
        "axis": {"x1": LEFT, "x2": WIDTH - RIGHT, "y": y(0)},
        "lines": lines, "note": f"○ hidden (<{k}) · △ at least" if k else "",
    }


def step_chart(title: str, subtitle: str, days: list, rows: list, series: list) -> dict:
    """Geometry of a per-week or per-month chart on the days' time axis: each bucket is a step
    across its days at its figure's average per day (so a week cut short at a month's edge is
    as tall as a whole one), a lower bound an open triangle, a withheld bucket a hollow marker
    on the axis. ``series`` is [(label, [cell per bucket])]."""
    n = len(days)
    at = {day: i for i, day in enumerate(days)}
    spans = [(at[row["from"]], at[row["to"]]) for row in rows]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def per_day(cell, span):
        value, kind = _value(cell)
        return (None if value is None else value / (span[1] - span[0] + 1)), kind

    numbers = [v for _, cells in series for v, _ in map(per_day, cells, spans) if v is not None]
    grid = integer_axis(max(numbers + [1]))
    top = grid[-1]

    def x(day_index):
        return LEFT + day_index * plot_w / n

    def y(v):
        return TOP + plot_h - v / top * plot_h

    lines = []
    for number, (label, cells) in enumerate(series):
        color = PALETTE[number % len(PALETTE)]
        points, paths, path, last_end = [], [], "", None
        for row, span, cell in zip(rows, spans, cells):
            value, kind = per_day(cell, span)
            middle = (x(span[0]) + x(span[1] + 1)) / 2
            days_in = span[1] - span[0] + 1
            text = (f"{label}, {period(row)}: {shown(cell)}"
                    + (f" ({value:.1f} a day over {days_in} days)" if value is not None else ""))
            points.append({"kind": kind, "x": middle, "y": y(value or 0), "title": text})
            if kind != "exact":
                paths, path, last_end = paths + ([path] if path else []), "", None
                continue
            if path and last_end == span[0]:
                path += f" V{y(value):.1f} H{x(span[1] + 1):.1f}"
            else:
                paths += [path] if path else []
                path = f"M{x(span[0]):.1f},{y(value):.1f} H{x(span[1] + 1):.1f}"
            last_end = span[1] + 1
        paths += [path] if path else []
        lines.append({"label": label, "color": color, "paths": paths, "points": points,
                      "hidden": sum(1 for p in points if p["kind"] == "hidden")})
    every = max(1, math.ceil(len(rows) / 8))
    return {
        "title": title, "subtitle": subtitle, "width": WIDTH, "height": HEIGHT, "band": None,
        "grid": [{"y": y(value), "label": f"{value:,}"} for value in grid],
        "ticks": [{"x": x(span[0]), "label": row.get("month") or row["from"][5:]}
                  for row, span in list(zip(rows, spans))[::every]],
        "axis": {"x1": LEFT, "x2": WIDTH - RIGHT, "y": y(0)},
        "lines": lines, "note": "○ withheld · △ at least",
    }


def bar_chart(title: str, subtitle: str, bars: list, k: int) -> dict:
    """Geometry of a horizontal bar chart: ``bars`` is [(label, total cell[, its text])];
    each label is wrapped to the label column, and its row grows to hold it."""
    numbers = [_value(bar[1])[0] or 0 for bar in bars]
    top = nice_ceiling(max(numbers + [1]))
    room = BAR_WIDTH - BAR_LABEL - STUB - 120
    rows, y = [], 8
    for i, (label, cell, *text) in enumerate(bars):
        value, kind = _value(cell)
        lines = wrap(label, BAR_LABEL - 14)
        height = max(BAR_HEIGHT + 8, len(lines) * LABEL_LINE + 8)
        bar_y = y + (height - 8 - BAR_HEIGHT) / 2
        length = 0 if value is None else max(value / top * room, 2 if value else 0)
        partial = kind != "exact"
        rows.append({
            "label": label, "lines": lines, "y": bar_y, "x": BAR_LABEL,
            "label_y": y + (height - 8) / 2 - (len(lines) - 1) * LABEL_LINE / 2 + 4,
            "length": length, "stub_x": BAR_LABEL + length, "partial": partial,
            "text_x": BAR_LABEL + length + (STUB if partial else 0) + 6,
            "text": f"all days <{k}" if value is None else (text[0] if text else shown(cell)),
            "color": PALETTE[i % len(PALETTE)],
        })
        y += height
    return {"title": title, "subtitle": subtitle, "width": BAR_WIDTH, "height": y + 8,
            "line_height": LABEL_LINE, "rows": rows}


def charts(report: dict) -> dict:
    """The report's charts: per day; per week and per month when there are at least two; and
    bars per ad and per partner over the whole range."""
    k, days = report["k"], report["days"]
    out = {"days": [line_chart(title, subtitle, [d["date"] for d in days],
                               [(LABELS[key], [d[key] for d in days]) for key in keys], k,
                               [d["date"][5:] for d in days])
                    for title, subtitle, keys in LINE_GROUPS]}
    for kind in ("weeks", "months"):
        rows = report[kind]
        out[kind] = [step_chart(title, f"{subtitle}; per {kind[:-1]}, as the average per day",
                                [d["date"] for d in days],
                                rows, [(LABELS[key], [r[key] for r in rows]) for key in keys])
                     for title, subtitle, keys in LINE_GROUPS] if len(rows) > 1 else []
    bars = []
    if report["ads"]:
        bars.append(bar_chart("Impressions per ad", "Over the whole range", [
            (f"{ad['title']} ({ad['slot']})", ad["impressions"]) for ad in report["ads"]], k))
        bars.append(bar_chart("Clicks per ad", "Over the whole range", [
            (f"{ad['title']} ({ad['slot']})", ad["clicks"]) for ad in report["ads"]], k))
    if report["partners"]:
        named = [(p["name"], p) for p in report["partners"]]
        bars.append(bar_chart("Referral clicks per partner", "Visitors sent through /go", [
            (name, p["clicks"]) for name, p in named], k))
        bars.append(bar_chart("Transactions per partner", "Reported sales, net of reversals", [
            (name, p["transactions"]) for name, p in named], k))
        currencies = sorted({c for p in report["partners"] for c in p["revenue"]})
        for currency in currencies:
            bars.append(bar_chart(f"Revenue per partner, {currency}",
                                  "Net of reversals; amounts from fewer than K sales withheld", [
                (name, _money_cell(p["revenue"].get(currency, "0")),
                 money_shown(p["revenue"].get(currency, "0"), currency)) for name, p in named], k))
    out["bars"] = bars
    return out


def _money_cell(value: str):
    """A revenue total as a drawable cell (``">=12.5"`` stays a lower bound)."""
    if value.startswith(">="):
        return ">=" + str(float(value[2:]))
    if is_suppressed(value):
        return value
    return float(value)


def use_filters() -> None:
    """Give the templates the report's ``shown``, ``money`` and ``period`` filters (and the
    ``suppressed`` test): a template that uses them compiles only once they exist."""
    add_filters({"shown": shown, "money": money_shown, "period": period},
                {"suppressed": is_suppressed})


def drawing(report: dict) -> dict:
    """What a page that shows the report needs besides the report: its charts, the headline
    totals and the labels."""
    use_filters()
    headline = [(LABELS[key], report["totals"][key]) for key in (
        "visits", "registrations", "verifications", "ad_impressions", "ad_clicks",
        "referral_clicks", "partner_transactions")]
    return {"charts": charts(report), "headline": headline, "labels": LABELS}


def render(report: dict) -> str:
    """The whole report as one HTML document."""
    return render_text("reports/operator.html", report=report, **drawing(report))
