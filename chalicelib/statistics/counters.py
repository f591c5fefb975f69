"""Daily aggregate counters, sharded against hot keys, with no identifiers.

A count lives in the ``stats`` table under ``"<metric>|<dimension>"`` and ``"<day>#<shard>"``.
A write is one ``UpdateItem ... ADD`` on a random shard (so one popular ad is not a hot key);
a report is one ``Query`` per counter over the day range, summing shards. Dimensions name
things (an ad, a partner, a purpose, a currency), never people: anything that looks like an
e-mail address or a long random token is refused.

A counter may be broken down by a short ``label`` (a currency, say) kept in the range key,
``"<day>#<label>#<shard>"``: one Query then reads every label of a day range. Counters that
must agree exactly with a business record are added inside that record's transaction
(``add_in``), so a retried or refused write never counts twice.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import date, datetime

from chalicelib.platform import clock, observability
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import UnavailableError
from chalicelib.statistics.models import DailyCounter

MAX_SHARDS = 16
_DIMENSION = re.compile(r"^[A-Za-z0-9_.:-]{0,64}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,32}$")


def _key(metric: str, dimension: str) -> str:
    if not _METRIC.match(metric):
        raise ValueError(f"bad metric name {metric!r}")
    if not _DIMENSION.match(dimension) or "@" in dimension:
        raise ValueError("a counter dimension names a thing, never a person")
    return f"{metric}|{dimension}"


def _shard_item(metric: str, dimension: str, shards: int, now: datetime | None,
                label: str) -> DailyCounter:
    if label and not _LABEL.match(label):
        raise ValueError(f"bad counter label {label!r}")
    shard = random.randrange(min(max(shards, 1), MAX_SHARDS))
    prefix = f"{clock.today(now).isoformat()}#{label + '#' if label else ''}"
    return DailyCounter(_key(metric, dimension), f"{prefix}{shard:02d}")


def increment(metric: str, *, dimension: str = "", amount: int = 1, shards: int = 1,
              now: datetime | None = None, label: str = "") -> None:
    """Add ``amount`` to today's count (one write). Use ``shards`` > 1 for hot counters."""
    item = _shard_item(metric, dimension, shards, now, label)
    with storage_errors():
        item.update(actions=[DailyCounter.n.add(amount)])


def record(metric: str, **options) -> None:
    """``increment`` for counts that follow a write already made: if the counter cannot be
    written (throttling, an outage), the event is not failed for it — the loss is logged and
    counted as a metric instead, and the aggregate is low by that one event."""
    try:
        increment(metric, **options)
    except UnavailableError:
        observability.get_logger().warning("counter write lost", extra={"metric": metric})
        observability.count("CounterWritesLost")


def add_in(tx, metric: str, *, dimension: str = "", amount: int = 1, shards: int = 1,
           now: datetime | None = None, label: str = "") -> None:
    """Like ``increment``, as one more write of the TransactWrite ``tx`` (no extra call)."""
    tx.update(_shard_item(metric, dimension, shards, now, label),
              actions=[DailyCounter.n.add(amount)])


def daily(metric: str, start: date, end: date, *, dimension: str = "") -> dict:
    """Day → total for one counter over [start, end] (days without counts are absent)."""
    totals: dict = defaultdict(int)
    condition = DailyCounter.day_shard.between(f"{start.isoformat()}#", f"{end.isoformat()}#~")
    with storage_errors():
        for item in DailyCounter.query(_key(metric, dimension), condition):
            totals[date.fromisoformat(item.day_shard.split("#", 1)[0])] += int(item.n)
    return dict(totals)


def daily_by_label(metric: str, start: date, end: date, *, dimension: str = "") -> dict:
    """Day → {label → total} for a labelled counter over [start, end], in one Query."""
    totals: dict = defaultdict(lambda: defaultdict(int))
    condition = DailyCounter.day_shard.between(f"{start.isoformat()}#", f"{end.isoformat()}#~")
    with storage_errors():
        for item in DailyCounter.query(_key(metric, dimension), condition):
            day, _, rest = item.day_shard.partition("#")
            label = rest.rpartition("#")[0]
            totals[date.fromisoformat(day)][label] += int(item.n)
    return {day: dict(labels) for day, labels in totals.items()}
