"""The distinct-visitor sketch (HyperLogLog), in memory: its estimate keeps its stated error."""
import statistics
from datetime import date

from chalicelib.statistics import visits

DAY = date(2026, 3, 1)
VISITORS = 10_000


def sketch_of(key: bytes, count: int, day: date = DAY) -> visits.Sketch:
    sketch = visits.Sketch()
    for i in range(count):
        sketch.add(visits.keyed_hash(key, day, f"visitor-cookie-{i:06d}"))
    return sketch


def test_ten_thousand_visitors_are_estimated_within_the_stated_error():
    """Standard error 1.04/√m (1.6 % for m = 4,096): over 20 independent keys the RMS relative
    error stays within it, and no single day is off by more than three standard errors."""
    assert visits.REGISTERS == 4096 and round(visits.STANDARD_ERROR, 4) == 0.0163
    errors = [(sketch_of(f"key-{n}".encode(), VISITORS).estimate() - VISITORS) / VISITORS
              for n in range(20)]
    rms = statistics.mean(e * e for e in errors) ** 0.5
    assert rms <= visits.STANDARD_ERROR
    assert max(abs(e) for e in errors) <= 3 * visits.STANDARD_ERROR
    assert abs(statistics.mean(errors)) <= visits.STANDARD_ERROR / 2  # no bias either way


def test_the_same_visitors_again_change_nothing():
    sketch = sketch_of(b"k", 2_000)
    before = list(sketch.registers)
    grew = [sketch.add(visits.keyed_hash(b"k", DAY, f"visitor-cookie-{i:06d}"))
            for i in range(2_000)]
    assert not any(grew) and sketch.registers == before


def test_small_days_are_nearly_exact_and_an_empty_day_is_zero():
    assert visits.Sketch().estimate() == 0
    for count in (1, 9, 10, 11):  # around K the estimate rounds to the exact count
        assert round(sketch_of(b"k", count).estimate()) == count
    assert abs(sketch_of(b"k", 250).estimate() - 250) <= 250 * visits.STANDARD_ERROR


def test_the_hash_is_keyed_and_changes_every_day():
    """Without the stage key a known cookie cannot be looked up; days cannot be linked."""
    cookie = "visitor-cookie-000001"
    assert visits.keyed_hash(b"a", DAY, cookie) != visits.keyed_hash(b"b", DAY, cookie)
    assert visits.keyed_hash(b"a", DAY, cookie) != visits.keyed_hash(b"a", date(2026, 3, 2), cookie)


def test_merging_registers_by_maximum_is_the_union_of_two_containers():
    a, b = sketch_of(b"k", 3_000), visits.Sketch()
    for i in range(1_500, 6_000):
        b.add(visits.keyed_hash(b"k", DAY, f"visitor-cookie-{i:06d}"))
    union = visits.Sketch(max(x, y) for x, y in zip(a.registers, b.registers))
    assert union.registers == sketch_of(b"k", 6_000).registers


# --- the stored sketch (moto) --------------------------------------------------------------------


def test_a_days_sketch_is_spread_over_one_partition_key_per_part(moto_world):
    from datetime import datetime, timezone

    from chalicelib.statistics.models import VisitSketch

    day = date(2026, 6, 1)
    visits._copy.clear()
    for i in range(1000):
        visits.record(f"spread-visitor-{i}", now=datetime(2026, 6, 1, 9, tzinfo=timezone.utc))
    keys = {item.day for item in VisitSketch.scan() if item.day.startswith("2026-06-01")}
    assert keys == {f"2026-06-01#{part:02d}" for part in range(64)}
    visits._copy.clear()  # a new container reads the same estimate back
    assert abs(visits.daily(day, day)[day] - 1000) <= 3 * visits.STANDARD_ERROR * 1000


def test_parts_of_the_old_layout_are_merged_and_then_moved(moto_world):
    from chalicelib.statistics.models import VisitSketch

    day = date(2026, 1, 15)
    reference = sketch_of(b"legacy", 300, day)
    for part in range(64):   # the old layout: the plain day as the partition key
        item = VisitSketch(day.isoformat(), part)
        for offset in range(64):
            value = reference.registers[part * 64 + offset]
            setattr(item, f"r{offset}", value or None)
        item.save()
    expected = round(reference.estimate())
    assert visits.daily(day, day) == {day: expected}
    assert visits.migrate_legacy() == 64
    assert visits.migrate_legacy() == 0
    assert visits.daily(day, day) == {day: expected}
    assert not [item for item in VisitSketch.scan() if item.day == day.isoformat()]
