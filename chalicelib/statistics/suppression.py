"""The K rule: a count below the threshold K is reported as ``"<K"``, never as its value."""
from __future__ import annotations

from chalicelib.platform.settings import get_settings


def suppress(count: int, k: int | None = None) -> int | str:
    """A count as it may be reported: below the threshold K it is ``"<K"``, never its value."""
    if k is None:
        k = get_settings().k_threshold
    return f"<{k}" if count < k else count
