"""What the promotions domain holds about one member: the delivery ledger's entries and the
member's allowance of partner promotions (send_windows.py)."""
from __future__ import annotations

from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import storage_errors
from chalicelib.promotions import send_windows
from chalicelib.promotions.models import Delivery, Promotion, SendWindow

MEMBER_TABLES = (Delivery, SendWindow)


def export_member(member_id: str) -> dict:
    """Which promotions were sent (or tried) to the member, when, with their subjects."""
    with storage_errors():  # batched reads: a few calls however many promotions
        ids = [d.promotion_id for d in Delivery.by_member.query(member_id)]
        deliveries = sorted(Delivery.batch_get([(p, member_id) for p in ids]),
                            key=lambda d: d.at)
        subjects = {p.promotion_id: p.subject for p in Promotion.batch_get(ids)} if ids else {}
    return {"promotions_received": [
        {"promotion_id": d.promotion_id, "subject": subjects.get(d.promotion_id),
         "status": d.status, "at": iso(d.at)} for d in deliveries],
        "partner_promotion_allowance": send_windows.export_member(member_id)}


def erase_member(member_id: str) -> None:
    """Delete the member's ledger entries and allowance record (the promotion's aggregate
    counts stay)."""
    with storage_errors(), Delivery.batch_write() as batch:
        for item in Delivery.by_member.query(member_id):
            batch.delete(Delivery(item.promotion_id, member_id))
    send_windows.erase_member(member_id)
