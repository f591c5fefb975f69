"""Daily aggregate counters (SPEC §6), sharded against hot keys, with no identifiers.

A count lives in the ``stats`` table under ``"<metric>|<dimension>"`` and ``"<day>#<shard>"``.
A write is one ``UpdateItem ... ADD`` on a random shard (so one popular ad is not a hot key);
a report is one ``Query`` per counter over the day range, summing shards. Dimensions name
things (an ad, a partner, a purpose, a currency), never people: anything that looks like an
e-mail address or a long random token is refused.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import date, datetime, timezone

from chalicelib.db import storage_errors
from chalicelib.models import DailyCounter

MAX_SHARDS = 16
_DIMENSION = re.compile(r"^[A-Za-z0-9_.:-]{0,64}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _key(metric: str, dimension: str) -> str:
    if not _METRIC.match(metric):
        raise ValueError(f"bad metric name {metric!r}")
    if not _DIMENSION.match(dimension) or "@" in dimension:
        raise ValueError("a counter dimension names a thing, never a person")
    return f"{metric}|{dimension}"


def today(now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()


def increment(metric: str, *, dimension: str = "", amount: int = 1, shards: int = 1,
              now: datetime | None = None) -> None:
    """Add ``amount`` to today's count (one write). Use ``shards`` > 1 for hot counters."""
    shard = random.randrange(min(max(shards, 1), MAX_SHARDS))
    item = DailyCounter(_key(metric, dimension), f"{today(now).isoformat()}#{shard:02d}")
    with storage_errors():
        item.update(actions=[DailyCounter.n.add(amount)])


def daily(metric: str, start: date, end: date, *, dimension: str = "") -> dict:
    """Day → total for one counter over [start, end] (days without counts are absent)."""
    totals: dict = defaultdict(int)
    condition = DailyCounter.day_shard.between(f"{start.isoformat()}#", f"{end.isoformat()}#~")
    with storage_errors():
        for item in DailyCounter.query(_key(metric, dimension), condition):
            totals[date.fromisoformat(item.day_shard.split("#", 1)[0])] += int(item.n)
    return dict(totals)


def suppress(count: int, k: int):
    """A count as shown to operators and partners: below the threshold ``k`` it is ``"<k"``."""
    return f"<{k}" if count < k else count
