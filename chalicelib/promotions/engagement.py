"""A promotion's engagement as partners and operators may see it: clicks per link and per
variant, deliveries per variant, and the A/B winner, all under the K rule.

Every figure here is part of a total the reader also sees (a variant's deliveries add up to
the promotion's ``delivered``; its clicks, and each link's, to the total clicks), so hiding
only the cells below K would let a reader subtract the shown ones from the total and find the
hidden one. A breakdown is therefore shown **whole or not at all**: the variants' deliveries
once every variant has at least K, their clicks once every variant has at least K, the
links' clicks once every link has at least K; until then each cell of that breakdown is
``null`` (withheld), whatever its size, so a reader learns only that some cell is still
below K, never which or by how much. A breakdown with a single cell is the total itself and
follows the plain K rule (``"<10"``). The **winner** — the variant with the most clicks per
delivered message — is shown only once both variant breakdowns are shown, i.e. when every
variant has at least K recipients and K clicks; a tie at the top shows no winner.
"""
from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Optional

from chalicelib.platform import clock
from chalicelib.platform.settings import get_settings
from chalicelib.promotions.clicks import CLICKS, COUNTED
from chalicelib.promotions.content import variant_content, variant_count, variant_label
from chalicelib.promotions.counts import Counts, delivery_counts
from chalicelib.statistics import counters
from chalicelib.statistics.suppression import suppress


def click_counts(promotion, now=None) -> dict:
    """(variant, link) → clicks so far (one Query per shard of the clicks counter, from the
    day the promotion was created); nothing is read before the promotion is sent."""
    if promotion.status not in COUNTED:
        return {}
    totals: dict = defaultdict(int)
    days = counters.daily_by_label(CLICKS, clock.today(promotion.created_at), clock.today(now),
                                   dimension=promotion.promotion_id)
    for labels in days.values():
        for label, n in labels.items():
            variant, _, link = label.partition(".")
            if variant.isdigit() and link.isdigit():
                totals[(int(variant), int(link))] += n
    return dict(totals)


def _breakdown(values: list, k: int) -> list:
    """The cells of one breakdown of a total as they may be shown (see the module docstring)."""
    if len(values) == 1:
        return [suppress(values[0], k)]
    if all(v >= k for v in values):
        return list(values)
    return [None] * len(values)


def winner(delivered: list, clicks: list, k: int) -> tuple:
    """(status, variant index or None): ``decided`` once every variant has at least ``k``
    recipients and ``k`` clicks and one has the most clicks per delivered message; ``tie``
    when two share the top; ``waiting`` before; ``no_variants`` for a single content."""
    if len(delivered) < 2:
        return "no_variants", None
    if any(d < k for d in delivered) or any(c < k for c in clicks):
        return "waiting", None
    rates = [Fraction(c, d) for c, d in zip(clicks, delivered)]
    best = max(rates)
    if rates.count(best) > 1:
        return "tie", None
    return "decided", rates.index(best)


def engagement_figures(promotion, counts: Optional[Counts] = None, k: Optional[int] = None,
               now=None) -> dict:
    """The promotion's engagement figures (JSON-ready), each under the K rule."""
    k = get_settings().k_threshold if k is None else k
    counts = counts or delivery_counts(promotion)
    clicks = click_counts(promotion, now)
    n, links = variant_count(promotion), list(promotion.links or ())
    by_variant = [sum(c for (v, _), c in clicks.items() if v == variant) for variant in range(n)]
    by_link = [sum(c for (_, link), c in clicks.items() if link == i) for i in range(len(links))]
    status, best = winner(list(counts.delivered_by_variant), by_variant, k) if n > 1 else (
        "no_variants", None)
    figures = {"clicks": suppress(sum(by_variant), k),
               "links": [{"link": i + 1, "url": url, "clicks": shown}
                         for i, (url, shown) in enumerate(zip(links, _breakdown(by_link, k)))],
               "variants": [], "winner": None, "winner_status": status}
    if n > 1:
        delivered = _breakdown(list(counts.delivered_by_variant), k)
        clicked = _breakdown(by_variant, k)
        figures["variants"] = [
            {"variant": variant_label(v), "subject": variant_content(promotion, v).subject,
             "delivered": delivered[v], "clicks": clicked[v]} for v in range(n)]
        if best is not None:
            figures["winner"] = {"variant": variant_label(best),
                                 "clicks_per_delivered": round(by_variant[best]
                                                               / counts.delivered_by_variant[best], 4)}
    return figures
