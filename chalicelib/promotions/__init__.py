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
    "MEMBER_TABLES": "records",
    "approve": "campaigns",
    "check_send_at": "campaigns",
    "batches": "sending",
    "confirm_claim": "sending",
    "create": "campaigns",
    "delivery_counts": "counts",
    "delivery_counts_many": "counts",
    "dispatch": "sending",
    "erase_member": "records",
    "export_member": "records",
    "get": "campaigns",
    "handle_queue_message": "sending",
    "handle_ses_event": "ses_events",
    "list_all": "campaigns",
    "partner_may_send": "campaigns",
    "pause": "sending",
    "paused_text": "progress",
    "progress_of": "progress",
    "recent_sends": "progress",
    "preview": "sending",
    "read_unsubscribe_token": "unsubscribe_links",
    "reconcile_claims": "sending",
    "reject": "campaigns",
    "resume_due": "sending",
    "forecast": "sending",
    "review_count": "campaigns",
    "review_queue": "campaigns",
    "schedule": "campaigns",
    "send_batch": "sending",
    "send_test": "sending",
    "sending_overview": "progress",
    "start_due": "sending",
    "start_sending": "sending",
    "status_text": "progress",
    "unsubscribe": "unsubscribe_links",
    "unsubscribe_token": "unsubscribe_links",
    "unsubscribe_url": "unsubscribe_links",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
