"""Promotions: partners' promotions and eSO's offers, their review, sending to exactly the
eligible members, one-click unsubscribe, and bounces and complaints.

Other packages use promotions through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "BATCH_SIZE": "sending",
    "BatchResult": "sending",
    "MAX_HTML": "campaigns",
    "MAX_SUBJECT": "campaigns",
    "MAX_TEXT": "campaigns",
    "VARIANT_LABELS": "content",
    "MEMBER_TABLES": "records",
    "approve": "campaigns",
    "batches": "sending",
    "click_url": "clicks",
    "confirm_claim": "sending",
    "create": "campaigns",
    "delivery_counts": "counts",
    "delivery_counts_many": "counts",
    "dispatch": "sending",
    "engagement_figures": "engagement",
    "erase_member": "records",
    "export_member": "records",
    "follow_link": "clicks",
    "get": "campaigns",
    "handle_queue_message": "sending",
    "handle_ses_event": "ses_events",
    "assign_variants": "variants",
    "list_all": "campaigns",
    "partner_may_send": "campaigns",
    "pause": "sending",
    "preview": "sending",
    "read_unsubscribe_token": "unsubscribe_links",
    "read_snooze_token": "snooze_links",
    "reconcile_claims": "sending",
    "reject": "campaigns",
    "resume_due": "sending",
    "forecast": "sending",
    "review_count": "campaigns",
    "review_queue": "campaigns",
    "send_batch": "sending",
    "snooze_by_link": "snooze_links",
    "snooze_token": "snooze_links",
    "snooze_url": "snooze_links",
    "unsubscribe": "unsubscribe_links",
    "unsubscribe_token": "unsubscribe_links",
    "unsubscribe_url": "unsubscribe_links",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
