"""What the promotions domain holds about one member: the delivery ledger's entries and the
member's allowance of partner promotions (send_windows.py)."""
from __future__ import annotations

from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import storage_errors
from chalicelib.promotions import send_windows
from chalicelib.promotions.content import variant_content, variant_label
from chalicelib.promotions.models import Delivery, Promotion, SendWindow

MEMBER_TABLES = (Delivery, SendWindow)


def export_member(member_id: str) -> dict:
    """Which promotions were sent (or tried) to the member, when, with their subjects (and,
    for an A/B test, which variant the member was given)."""
    with storage_errors():  # batched reads: a few calls however many promotions
        ids = [d.promotion_id for d in Delivery.by_member.query(member_id)]
        deliveries = sorted(Delivery.batch_get([(p, member_id) for p in ids]),
                            key=lambda d: d.at)
        found = {p.promotion_id: p for p in Promotion.batch_get(ids)} if ids else {}
    return {"promotions_received": [_received(d, found.get(d.promotion_id)) for d in deliveries],
            "partner_promotion_allowance": send_windows.export_member(member_id)}


def _received(delivery: Delivery, promotion) -> dict:
    """One ledger entry: the subject the member got (their A/B variant's, if any)."""
    variant = delivery.variant if promotion is not None and promotion.variants else None
    entry = {"promotion_id": delivery.promotion_id,
             "subject": variant_content(promotion, variant).subject if promotion else None,
             "status": delivery.status, "at": iso(delivery.at)}
    if variant is not None:
        entry["variant"] = variant_label(variant)
    return entry


def erase_member(member_id: str) -> None:
    """Delete the member's ledger entries and allowance record (the promotion's aggregate
    counts stay)."""
    with storage_errors(), Delivery.batch_write() as batch:
        for item in Delivery.by_member.query(member_id):
            batch.delete(Delivery(item.promotion_id, member_id))
    send_windows.erase_member(member_id)
