"""A promotion's delivery counts (delivered, skipped, failed), kept apart from its content.

A send batch adds its outcome with one ``UpdateItem ... ADD`` on the promotion's
``promotion-counts`` item: an item of a few dozen bytes, so one write unit, however large the
promotion's text and HTML are (the promotion item holds up to ~120 KB: rewriting it cost up to
~118 write units per batch). Counts written on the promotion item itself before this table
existed are still read and added in, so no migration is needed: those attributes are simply
never written again.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple, Optional

from chalicelib.platform.dynamo import storage_errors
from chalicelib.promotions.models import DeliveryCounts, Promotion

FIGURES = ("delivered", "skipped", "failed")


class Counts(NamedTuple):
    delivered: int
    skipped: int
    failed: int


def add_delivery_counts(promotion_id: str, delivered: int, skipped: int, failed: int) -> None:
    """Add one batch's outcome (one small write; nothing when all three are 0)."""
    if not (delivered or skipped or failed):
        return
    with storage_errors():
        DeliveryCounts(promotion_id).update(actions=[DeliveryCounts.delivered.add(delivered),
                                                     DeliveryCounts.skipped.add(skipped),
                                                     DeliveryCounts.failed.add(failed)])


def set_planned(promotion_id: str, planned: int) -> None:
    """Record how many members the planning that just finished counted (one small write)."""
    with storage_errors():
        DeliveryCounts(promotion_id).update(actions=[DeliveryCounts.planned.set(planned)])


def _total(promotion: Promotion, item) -> Counts:
    return Counts(*(int(getattr(promotion, name) or 0) + int(getattr(item, name, 0) or 0)
                    for name in FIGURES))


def _planned(item) -> Optional[int]:
    planned = getattr(item, "planned", None)
    return None if planned is None else int(planned)


def delivery_counts(promotion: Promotion) -> Counts:
    """The promotion's counts so far (one GetItem of its counts item)."""
    with storage_errors():
        try:
            item = DeliveryCounts.get(promotion.promotion_id)
        except DeliveryCounts.DoesNotExist:
            item = None
    return _total(promotion, item)


def delivery_counts_many(promotions: Iterable[Promotion]) -> dict:
    """Promotion id → Counts for several promotions (BatchGetItem, 100 keys per call)."""
    promotions = list(promotions)
    with storage_errors():
        found = {item.promotion_id: item
                 for item in DeliveryCounts.batch_get([p.promotion_id for p in promotions])}
    return {p.promotion_id: _total(p, found.get(p.promotion_id)) for p in promotions}


def progress_counts_many(promotions: Iterable[Promotion]) -> dict:
    """Promotion id → (Counts, members planned or None) for several promotions: what the
    console shows of a send in progress (one BatchGetItem per 100)."""
    promotions = list(promotions)
    if not promotions:
        return {}
    with storage_errors():
        found = {item.promotion_id: item
                 for item in DeliveryCounts.batch_get([p.promotion_id for p in promotions])}
    return {p.promotion_id: (_total(p, found.get(p.promotion_id)),
                             _planned(found.get(p.promotion_id))) for p in promotions}
