"""Ads: the operator's catalogue and the per-visitor rotation that serves it.

Other packages use ads through the names below; only this package touches its tables.
"""
from chalicelib.platform.lazy import lazy_exports

_EXPORTS = {
    "AdInfo": "catalogue",
    "AdServer": "rotation",
    "MAX_FREQUENCY_CAP": "catalogue",
    "StaleViewsError": "rotation",
    "VIEWS_TTL": "catalogue",
    "Views": "rotation",
    "click": "rotation",
    "create_ad": "catalogue",
    "disable_ad": "catalogue",
    "get_ad": "catalogue",
    "list_ads": "catalogue",
    "next_ad": "rotation",
    "parse_time": "catalogue",
    "slot_cache": "rotation",
    "viewer_hash": "rotation",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
