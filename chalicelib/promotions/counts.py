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
VARIANT_DELIVERED = (DeliveryCounts.delivered_v0, DeliveryCounts.delivered_v1,
                     DeliveryCounts.delivered_v2)


class _Figures(NamedTuple):
    delivered: int
    skipped: int
    failed: int


class Counts(_Figures):
    """(delivered, skipped, failed), and ``delivered_by_variant`` (A, B, C) for a promotion with
    variants: a tuple of three as before, the variants' figures alongside."""

    delivered_by_variant: tuple = ()

    def __new__(cls, delivered: int, skipped: int, failed: int, delivered_by_variant=()):
        counts = super().__new__(cls, delivered, skipped, failed)
        counts.delivered_by_variant = tuple(delivered_by_variant)
        return counts


def variant_delivered(variant: Optional[int]) -> tuple:
    """The counter of messages delivered of ``variant`` (none for a promotion without)."""
    return () if variant is None else (VARIANT_DELIVERED[variant],)


def add_delivery_counts(promotion_id: str, delivered: int, skipped: int, failed: int,
                        variant: Optional[int] = None) -> None:
    """Add one batch's outcome (one small write; nothing when all three are 0); a batch of a
    variant adds its deliveries to that variant's count too, in the same write."""
    if not (delivered or skipped or failed):
        return
    with storage_errors():
        DeliveryCounts(promotion_id).update(actions=[
            DeliveryCounts.delivered.add(delivered), DeliveryCounts.skipped.add(skipped),
            DeliveryCounts.failed.add(failed),
            *(figure.add(delivered) for figure in variant_delivered(variant) if delivered)])


def set_planned(promotion_id: str, planned: int) -> None:
    """Record how many members the planning that just finished counted (one small write)."""
    with storage_errors():
        DeliveryCounts(promotion_id).update(actions=[DeliveryCounts.planned.set(planned)])


def _total(promotion: Promotion, item) -> Counts:
    by_variant = tuple(int(getattr(item, figure.attr_name, 0) or 0) for figure in
                       VARIANT_DELIVERED[:len(promotion.variants or ())])
    return Counts(*(int(getattr(promotion, name) or 0) + int(getattr(item, name, 0) or 0)
                    for name in FIGURES), by_variant)


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
