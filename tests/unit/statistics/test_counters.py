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
