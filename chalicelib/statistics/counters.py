"""Daily aggregate counters, sharded across partition keys, with no identifiers.

A count lives in the ``stats`` table under the partition key ``"<metric>|<dimension>|<shard>"``
and the sort key ``"<day>"`` (or ``"<day>#<label>"``). The shard is part of the partition key,
so the shards of one hot counter (a popular ad) are separate partition keys that DynamoDB can
place on separate partitions, each with its own ~1,000 write units per second; a shard's items
over the days form one small item collection, so a report reads a day range of one shard with
one Query. How many shards a metric has is fixed here (``SHARDS``), for writers and readers
alike: a write is one ``UpdateItem ... ADD`` on a random shard; a read is one Query per shard,
or for a short range of a counter without labels, its (shard, day) items read by key.

Dimensions name things (an ad, a partner, a purpose, a currency), never people: anything that
looks like an e-mail address or a long random token is refused.

A counter may be broken down by a short ``label`` (a currency, say) kept in the sort key: one
Query per shard then reads every label of a day range. Only the metrics in ``LABELLED`` take
labels; every other counter has exactly one item per shard and day, so a short day range of it
is read by key: one BatchGetItem per 100 (shard, day) items (a week of a 16-shard counter: 2
calls instead of 16 Queries; see ``BATCH_KEYS``). Counters that must agree exactly with a
business record are added inside that record's transaction (``add_in``), so a retried or
refused write never counts twice.

Counts that come with every page view (ad impressions) are added up in the Lambda container
first (``tally``) and written as one ``ADD`` per counter at most every ``FLUSH_SECONDS``.

Items written before the shard moved into the partition key (``"<metric>|<dimension>"``,
``"<day>[#<label>]#<shard>"``) are still read, with one more Query per counter, until
``migrate_legacy`` has moved them (CLI ``stats migrate``).
"""
from __future__ import annotations

import random
import re
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

from pynamodb.exceptions import TransactWriteError

from chalicelib.platform import clock, observability
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import UnavailableError
from chalicelib.statistics.models import DailyCounter

# Shards (partition keys) per metric; 1 when not listed. Changing a number is safe only
# upwards while nothing is being written with the old one (readers read these shards only).
SHARDS = {
    "ad_impressions": 16,
    "ad_clicks": 8,
    "referral_clicks": 8,
    "partner_transactions": 4,
    "partner_reversals": 4,
    "partner_revenue": 4,
    "promotion_deliveries": 4,
    "promotion_clicks": 8,
}
MAX_SHARDS = 100
# The counters broken down by a label (in the sort key, after the day).
LABELLED = frozenset({"partner_transactions", "partner_reversals", "partner_revenue",
                      "promotion_clicks"})
# A BatchGetItem reads up to 100 keys. A range is read by key when that takes at most a quarter
# of the calls of one Query per shard: up to 25 days of a counter with 4, 8 or 16 shards. (Each
# key is billed half a read unit, found or not, where a Query of a shard's days is billed about
# half a unit in all: a week of 16 shards costs 56 units instead of 8, and 2 calls instead of
# 16, which is what a report over many ads waits for.)
BATCH_KEYS = 100
FLUSH_SECONDS = 10.0
_DIMENSION = re.compile(r"^[A-Za-z0-9_.:-]{0,64}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,32}$")
_LEGACY_SHARD = re.compile(r"#\d{2}$")


def shards(metric: str) -> int:
    """How many partition keys one counter of ``metric`` is spread over."""
    return SHARDS.get(metric, 1)


def _key(metric: str, dimension: str) -> str:
    if not _METRIC.match(metric):
        raise ValueError(f"bad metric name {metric!r}")
    if not _DIMENSION.match(dimension) or "@" in dimension:
        raise ValueError("a counter dimension names a thing, never a person")
    return f"{metric}|{dimension}"


def _check_label(metric: str, label: str) -> None:
    if label and not _LABEL.match(label):
        raise ValueError(f"bad counter label {label!r}")
    if label and metric not in LABELLED:
        raise ValueError(f"the counter {metric!r} takes no label (see LABELLED)")


def _shard_item(metric: str, dimension: str, now: datetime | None, label: str) -> DailyCounter:
    _check_label(metric, label)
    shard = random.randrange(shards(metric))
    day = clock.today(now).isoformat()
    return DailyCounter(f"{_key(metric, dimension)}|{shard:02d}", f"{day}#{label}" if label else day)


def increment(metric: str, *, dimension: str = "", amount: int = 1,
              now: datetime | None = None, label: str = "") -> None:
    """Add ``amount`` to today's count (one write, on one of the metric's shards)."""
    item = _shard_item(metric, dimension, now, label)
    with storage_errors():
        item.update(actions=[DailyCounter.n.add(amount)])


def record(metric: str, **options) -> None:
    """``increment`` for counts that follow a write already made: if the counter cannot be
    written (throttling, an outage), the event is not failed for it — the loss is logged and
    counted as a metric instead, and the aggregate is low by that one event."""
    try:
        increment(metric, **options)
    except UnavailableError:
        _lost(metric, options.get("amount", 1))


def _lost(metric: str, amount: int) -> None:
    observability.get_logger().warning("counter write lost", extra={"metric": metric,
                                                                    "amount": amount})
    observability.count("CounterWritesLost")


def add_in(tx, metric: str, *, dimension: str = "", amount: int = 1,
           now: datetime | None = None, label: str = "") -> None:
    """Like ``increment``, as one more write of the TransactWrite ``tx`` (no extra call)."""
    tx.update(_shard_item(metric, dimension, now, label), actions=[DailyCounter.n.add(amount)])


# --- counts added up in the container ------------------------------------------------------------

# (metric, dimension, day, label) → amount not yet written; guarded by _lock (chalice local
# serves requests on threads). _flushed_at is when this container last wrote them.
_pending: dict = defaultdict(int)
_lock = threading.Lock()
_flushed_at = [float("-inf")]


def tally(metric: str, *, dimension: str = "", amount: int = 1, now: datetime | None = None,
          label: str = "") -> None:
    """Count an event in this container; write what it holds when ``FLUSH_SECONDS`` have
    passed since its last write (at once when the container was idle that long).

    A busy container writes one ``ADD`` per counter per interval instead of one per event. What
    a container holds when Lambda reclaims it is lost: at most what it counted in the
    ``FLUSH_SECONDS`` before its last request. Never raises for storage: a write that fails
    is logged and counted (``CounterWritesLost``), like ``record``.
    """
    _key(metric, dimension)
    _check_label(metric, label)
    with _lock:
        _pending[(metric, dimension, clock.today(now), label)] += amount
        elapsed = clock.monotonic() - _flushed_at[0]
        due = not 0 <= elapsed < FLUSH_SECONDS  # (a clock that went back: write now)
    if due:
        flush()


def flush() -> int:
    """Write every count this container holds (one ``ADD`` each); returns the writes made."""
    with _lock:
        held = dict(_pending)
        _pending.clear()
        _flushed_at[0] = clock.monotonic()
    for (metric, dimension, day, label), amount in held.items():
        at = datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)
        try:
            increment(metric, dimension=dimension, amount=amount, now=at, label=label)
        except UnavailableError:
            _lost(metric, amount)
    return len(held)


# --- reading -------------------------------------------------------------------------------------


def _by_key(metric: str, start: date, end: date) -> bool:
    """Whether a day range of this counter is read with BatchGetItem rather than Queries."""
    keys = ((end - start).days + 1) * shards(metric)
    return metric not in LABELLED and 4 * -(-keys // BATCH_KEYS) <= shards(metric)


def _items(metric: str, start: date, end: date, dimension: str) -> Iterator[tuple]:
    """(day, label, n) of every item of one counter over [start, end], both layouts."""
    if _pending:
        flush()  # what this container holds is read like everything else
    key = _key(metric, dimension)
    low, high = start.isoformat(), f"{end.isoformat()}#~"
    with storage_errors():
        if _by_key(metric, start, end):
            days = [(start + timedelta(days=i)).isoformat()
                    for i in range((end - start).days + 1)]
            for item in DailyCounter.batch_get([(f"{key}|{shard:02d}", day)
                                                for shard in range(shards(metric))
                                                for day in days]):
                yield date.fromisoformat(item.day), "", int(item.n)
        else:
            for shard in range(shards(metric)):
                for item in DailyCounter.query(f"{key}|{shard:02d}",
                                               DailyCounter.day.between(low, high)):
                    day, _, label = item.day.partition("#")
                    yield date.fromisoformat(day), label, int(item.n)
        for item in DailyCounter.query(key, DailyCounter.day.between(low, high)):
            day, _, rest = item.day.partition("#")      # legacy: "<day>[#<label>]#<shard>"
            yield date.fromisoformat(day), rest.rpartition("#")[0], int(item.n)


def daily(metric: str, start: date, end: date, *, dimension: str = "") -> dict:
    """Day → total for one counter over [start, end] (days without counts are absent)."""
    totals: dict = defaultdict(int)
    for day, _label, n in _items(metric, start, end, dimension):
        totals[day] += n
    return dict(totals)


def daily_by_label(metric: str, start: date, end: date, *, dimension: str = "") -> dict:
    """Day → {label → total} for a labelled counter over [start, end]."""
    totals: dict = defaultdict(lambda: defaultdict(int))
    for day, label, n in _items(metric, start, end, dimension):
        totals[day][label] += n
    return {day: dict(labels) for day, labels in totals.items()}


# --- moving items of the old layout --------------------------------------------------------------


def legacy_items() -> Iterator[DailyCounter]:
    """Items of the layout with the shard in the sort key (one Scan of ``stats``)."""
    with storage_errors():
        for item in DailyCounter.scan():
            if item.counter.count("|") == 1 and _LEGACY_SHARD.search(item.day):
                yield item


def migrate_legacy(progress=lambda n: None) -> int:
    """Move every old-layout item into shard 00 of the new layout; returns the items moved.

    Each move is one transaction (ADD to the new item, delete the old one only if its count is
    unchanged), so a report read during the move counts every item exactly once, and running
    it again, or after an interruption, moves only what is left.
    """
    moved = 0
    for old in legacy_items():
        day, _, rest = old.day.partition("#")
        label = rest.rpartition("#")[0]
        new = DailyCounter(f"{old.counter}|00", f"{day}#{label}" if label else day)
        try:
            with storage_errors(), transaction() as tx:
                tx.update(new, actions=[DailyCounter.n.add(int(old.n))])
                tx.delete(old, condition=DailyCounter.n == old.n)
        except TransactWriteError:
            continue  # changed meanwhile (nothing writes the old layout now): left for a rerun
        moved += 1
        progress(moved)
    return moved
