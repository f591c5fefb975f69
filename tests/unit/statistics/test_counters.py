"""Counters: small-count suppression, labels, the sharded layout, counts held in the container
and the move of the old layout (moto)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.statistics import counters, suppression
from chalicelib.statistics.models import DailyCounter


@pytest.mark.parametrize("count, shown", [(0, "<10"), (1, "<10"), (9, "<10"), (10, 10), (11, 11)])
def test_counts_below_k_are_shown_as_less_than_k(count, shown):
    assert suppression.suppress(count, 10) == shown


def test_suppression_follows_the_stage_threshold(monkeypatch):
    monkeypatch.setenv("ESO_K_THRESHOLD", "5")
    assert suppression.suppress(4) == "<5" and suppression.suppress(5) == 5
    monkeypatch.delenv("ESO_K_THRESHOLD")
    assert suppression.suppress(9) == "<10"


@pytest.mark.parametrize("label", ["a#b", "x" * 33, "a b", "someone@example.org"])
def test_bad_labels_are_refused(label):
    with pytest.raises(ValueError):
        counters._shard_item("m", "d", None, label)
    with pytest.raises(ValueError):
        counters.tally("m", dimension="d", label=label)


def _stored(metric: str, dimension: str) -> dict:
    """Partition key → {sort key: n} of every stored item of one counter, either layout."""
    found: dict = {}
    for item in DailyCounter.scan():
        if item.counter == f"{metric}|{dimension}" or item.counter.startswith(
                f"{metric}|{dimension}|"):
            found.setdefault(item.counter, {})[item.day] = int(item.n)
    return found


def test_a_hot_counter_is_spread_over_partition_keys_and_read_back_whole(moto_world):
    now = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)
    for _ in range(200):
        counters.increment("ad_impressions", dimension="ad-spread", now=now)
    stored = _stored("ad_impressions", "ad-spread")
    # Each shard is a partition key of its own; the day is the sort key.
    assert len(stored) > 8
    assert all(key.rsplit("|", 1)[1] in {f"{s:02d}" for s in range(16)} for key in stored)
    assert all(list(days) == ["2026-05-04"] for days in stored.values())
    assert sum(days["2026-05-04"] for days in stored.values()) == 200
    assert counters.daily("ad_impressions", date(2026, 5, 4), date(2026, 5, 4),
                          dimension="ad-spread") == {date(2026, 5, 4): 200}


def test_labelled_counts_are_read_per_day_and_label(moto_world):
    for day, currency, amount in ((1, "USD", 1250), (1, "EUR", 300), (2, "USD", 50)):
        counters.increment("partner_revenue", dimension="p-labels", label=currency,
                           amount=amount, now=datetime(2026, 5, day, tzinfo=timezone.utc))
    assert counters.daily_by_label("partner_revenue", date(2026, 5, 1), date(2026, 5, 2),
                                   dimension="p-labels") == {
        date(2026, 5, 1): {"USD": 1250, "EUR": 300}, date(2026, 5, 2): {"USD": 50}}
    assert counters.daily("partner_revenue", date(2026, 5, 2), date(2026, 5, 3),
                          dimension="p-labels") == {date(2026, 5, 2): 50}


def _legacy(metric: str, dimension: str, day_shard: str, n: int) -> None:
    DailyCounter(f"{metric}|{dimension}", day_shard, n=n).save()


def test_counts_of_the_old_layout_are_read_and_then_moved_once(moto_world):
    _legacy("ad_clicks", "ad-old", "2026-02-01#00", 5)
    _legacy("ad_clicks", "ad-old", "2026-02-01#03", 7)
    _legacy("partner_revenue", "p-old", "2026-02-01#USD#01", 900)
    counters.increment("ad_clicks", dimension="ad-old", amount=2,
                       now=datetime(2026, 2, 1, 20, tzinfo=timezone.utc))
    day = date(2026, 2, 1)
    before = (counters.daily("ad_clicks", day, day, dimension="ad-old"),
              counters.daily_by_label("partner_revenue", day, day, dimension="p-old"))
    assert before == ({day: 14}, {day: {"USD": 900}})

    assert counters.migrate_legacy() >= 3
    assert counters.migrate_legacy() == 0
    assert (counters.daily("ad_clicks", day, day, dimension="ad-old"),
            counters.daily_by_label("partner_revenue", day, day, dimension="p-old")) == before
    assert "ad_clicks|ad-old" not in _stored("ad_clicks", "ad-old")
    assert _stored("partner_revenue", "p-old") == {"partner_revenue|p-old|00": {"2026-02-01#USD": 900}}


def test_a_busy_container_writes_its_tally_once_per_interval(moto_world):
    clock = moto_world.clock
    counters.flush()
    for _ in range(30):
        counters.tally("ad_impressions", dimension="ad-tally", now=clock.now())
        clock.advance(0.1)
    assert _stored("ad_impressions", "ad-tally") == {}     # held: the interval is not over
    clock.advance(counters.FLUSH_SECONDS)
    counters.tally("ad_impressions", dimension="ad-tally", now=clock.now())
    stored = _stored("ad_impressions", "ad-tally")
    assert len(stored) == 1 and sum(stored.popitem()[1].values()) == 31   # one write for all


def test_an_idle_container_writes_at_once_and_a_read_sees_what_is_held(moto_world):
    clock = moto_world.clock
    clock.advance(counters.FLUSH_SECONDS)
    today = clock.now().date()
    counters.tally("ad_impressions", dimension="ad-idle", now=clock.now())
    assert sum(sum(d.values()) for d in _stored("ad_impressions", "ad-idle").values()) == 1
    counters.tally("ad_impressions", dimension="ad-idle", now=clock.now())
    counters.tally("ad_impressions", dimension="ad-idle", now=clock.now() + timedelta(days=1))
    assert counters.daily("ad_impressions", today, today + timedelta(days=1),
                          dimension="ad-idle") == {today: 2, today + timedelta(days=1): 1}


def _reads(metric: str, start: date, end: date, dimension: str) -> tuple:
    """(day → total, the read calls made: BatchGetItem and Query)."""
    from bench.dynamodb_calls import recording

    with recording() as calls:
        totals = counters.daily(metric, start, end, dimension=dimension)
    return totals, [op for op in calls.operations() if op in ("BatchGetItem", "Query")]


def test_a_short_range_of_a_counter_without_labels_is_read_by_key(moto_world):
    first = date(2026, 6, 1)
    for offset in range(-1, 8):         # a count the day before and the day after the week too
        for _ in range(3):
            counters.increment("ad_impressions", dimension="ad-bykey", amount=offset + 2,
                               now=datetime(2026, 5, 31, 12, tzinfo=timezone.utc)
                               + timedelta(days=offset + 1))
    week = {first + timedelta(days=d): 3 * (d + 2) for d in range(7)}

    totals, reads = _reads("ad_impressions", first, first + timedelta(days=6), "ad-bykey")
    # 16 shards × 7 days = 112 keys: two BatchGetItems (and the Query of the old layout),
    # where one Query per shard would make 16 calls.
    assert totals == week
    assert sorted(reads) == ["BatchGetItem", "BatchGetItem", "Query"]

    # Up to 25 days by key (4 calls for 400 keys); beyond, one Query per shard: the same counts.
    totals, reads = _reads("ad_impressions", first - timedelta(days=18), first + timedelta(days=6),
                           "ad-bykey")
    assert totals == {first - timedelta(days=1): 3} | week
    assert reads.count("BatchGetItem") == 4 and reads.count("Query") == 1
    totals, reads = _reads("ad_impressions", first - timedelta(days=19), first + timedelta(days=6),
                           "ad-bykey")
    assert totals == {first - timedelta(days=1): 3} | week
    assert reads == ["Query"] * 17


def test_a_counter_with_labels_is_read_with_queries_and_others_take_no_label(moto_world):
    day = datetime(2026, 6, 2, tzinfo=timezone.utc)
    counters.increment("partner_transactions", dimension="p-q", label="EUR", now=day)
    totals, reads = _reads("partner_transactions", day.date(), day.date(), "p-q")
    assert totals == {day.date(): 1} and reads == ["Query"] * 5   # 4 shards and the old layout
    for write in (lambda: counters.increment("ad_clicks", dimension="ad-q", label="EUR"),
                  lambda: counters.tally("ad_clicks", dimension="ad-q", label="EUR"),
                  lambda: counters._shard_item("registrations", "", None, "EUR")):
        with pytest.raises(ValueError, match="takes no label"):
            write()
