"""Fixed-window counters in DynamoDB with TTL (failed logins per address, contact messages)."""
from __future__ import annotations

import contextlib
import time
from datetime import datetime, timezone

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import RateLimitedError
from chalicelib.platform.models import BaseModel, table_meta


class RateLimit(BaseModel):
    """A fixed-window counter (failed logins per address, contact messages per visitor)."""

    Meta = table_meta("rate-limits")

    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


MODELS = (RateLimit,)


def _window(key: str, window_s: int, now: float) -> tuple:
    start = int(now // window_s) * window_s
    return f"{key}@{start}", start + window_s


def hit(key: str, window_s: int, now: float | None = None, amount: int = 1) -> int:
    """Count ``amount`` events in the current window (atomic ADD); returns the new count."""
    now = time.time() if now is None else now
    item_key, ends = _window(key, window_s, now)
    with storage_errors():
        item = RateLimit(item_key)
        item.update(actions=[RateLimit.count.add(amount),
                             RateLimit.expires_at.set(datetime.fromtimestamp(ends, timezone.utc))])
        return int(item.count)


def take(key: str, limit: int, window_s: int, now: float | None = None,
         message: str = "Too many requests; try again later.") -> None:
    """Count one event and refuse it when it goes over ``limit`` (one write; two when refused)."""
    now = time.time() if now is None else now
    if hit(key, window_s, now) > limit:
        # A refused event is not counted: refusals neither extend the lock nor use up the
        # allowance of events that come after the window.
        hit(key, window_s, now, amount=-1)
        _, ends = _window(key, window_s, now)
        raise RateLimitedError(message, retry_after=max(1, int(ends - now)))


def forget(key: str, window_s: int, now: float | None = None) -> None:
    """Delete the current window's count of ``key`` (erasure of what names a person)."""
    now = time.time() if now is None else now
    item_key, _ = _window(key, window_s, now)
    with storage_errors():
        RateLimit(item_key).delete()


@contextlib.contextmanager
def counted_attempt(key: str, limits, now: float, message: str):
    """Count an attempt (a code, a passkey answer) in each ``(limit, window)`` of ``limits``
    before it is checked, refusing it when a window is full; an attempt that passes (the body
    raises nothing) takes its counts back, so only wrong ones add up."""
    taken = []
    try:
        for limit, window in limits:
            take(f"{key}:{window}", limit, window, now=now, message=message)
            taken.append(window)
    except RateLimitedError:
        for window in taken:
            hit(f"{key}:{window}", window, now=now, amount=-1)
        raise
    yield
    for window in taken:
        hit(f"{key}:{window}", window, now=now, amount=-1)
