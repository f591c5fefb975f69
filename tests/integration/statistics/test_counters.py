"""Aggregate counters on DynamoDB Local: sharded writes, exact sums, no identifiers."""
import threading
from datetime import date, datetime, timezone

import pytest

from chalicelib.statistics import counters


def test_sharded_concurrent_increments_sum_exactly(stack, monkeypatch):
    monkeypatch.setitem(counters.SHARDS, "test_hits", 8)
    day = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    threads = [threading.Thread(target=lambda: [counters.increment(
        "test_hits", dimension="ad-1", now=day) for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.daily("test_hits", date(2026, 3, 1), date(2026, 3, 1), dimension="ad-1") == {
        date(2026, 3, 1): 200}


def test_concurrent_tallies_are_all_counted(stack):
    day = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    threads = [threading.Thread(target=lambda: [counters.tally(
        "test_tallies", dimension="ad-2", now=day) for _ in range(50)]) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.daily("test_tallies", date(2026, 3, 2), date(2026, 3, 2),
                          dimension="ad-2") == {date(2026, 3, 2): 300}


def test_daily_reads_only_the_asked_days(stack):
    for day in (1, 2, 3):
        counters.increment("test_days", amount=day, now=datetime(2026, 4, day, tzinfo=timezone.utc))
    assert counters.daily("test_days", date(2026, 4, 2), date(2026, 4, 3)) == {
        date(2026, 4, 2): 2, date(2026, 4, 3): 3}


@pytest.mark.parametrize("dimension", ["someone@example.org", "x" * 65, "a b"])
def test_dimensions_that_could_identify_a_person_are_refused(dimension):
    with pytest.raises(ValueError):
        counters.increment("test_hits", dimension=dimension)
