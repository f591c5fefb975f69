"""Ads: the declared slots, the operator's catalogue and the per-visitor rotation that serves it.

Other packages use ads through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "AdInfo": "catalogue",
    "AdServer": "rotation",
    "MAX_FREQUENCY_CAP": "catalogue",
    "SlotInfo": "slots",
    "StaleViewsError": "rotation",
    "VIEWS_TTL": "catalogue",
    "Views": "rotation",
    "check_slot": "slots",
    "click": "rotation",
    "create_ad": "catalogue",
    "declare_slot": "slots",
    "disable_ad": "catalogue",
    "edit_ad": "catalogue",
    "enable_ad": "catalogue",
    "get_ad": "catalogue",
    "is_declared": "slots",
    "list_ads": "catalogue",
    "list_slots": "slots",
    "next_ad": "rotation",
    "parse_time": "catalogue",
    "require_declared": "slots",
    "slot_cache": "rotation",
    "viewer_hash": "rotation",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
