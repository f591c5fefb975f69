"""Weeks and months under the K rule: which buckets exist, which are shown, and that nothing a
reader can do with the shown figures (subtracting them, bounding them, knowing the rule and
seeing what was withheld) recovers a hidden day."""
import random
from datetime import date, timedelta
from itertools import combinations, product

import pytest

from chalicelib.reporting import buckets
from chalicelib.reporting.buckets import Bucket, Calendar, day_cell, is_shown

K = 10
LATER = date(2030, 1, 1)  # "today": every bucket below is over


def month(first: date) -> Calendar:
    return Calendar.of(first, buckets.month_of(first).end, LATER)


# --- the calendar ---------------------------------------------------------------------------------


def test_weeks_run_monday_to_sunday_and_are_cut_at_the_end_of_the_month():
    march = buckets.month_of(date(2026, 3, 17))  # 1 March 2026 is a Sunday
    assert (march.start, march.end) == (date(2026, 3, 1), date(2026, 3, 31))
    weeks = [(w.start.isoformat(), w.end.isoformat()) for w in buckets.weeks_of(march)]
    assert weeks == [("2026-03-01", "2026-03-01"), ("2026-03-02", "2026-03-08"),
                     ("2026-03-09", "2026-03-15"), ("2026-03-16", "2026-03-22"),
                     ("2026-03-23", "2026-03-29"), ("2026-03-30", "2026-03-31")]
    assert all(w.start.weekday() == 0 for w in buckets.weeks_of(march)[1:])
    # The ISO week of 30 March – 5 April is two buckets, one in each month: never one across.
    april = buckets.weeks_of(buckets.month_of(date(2026, 4, 1)))
    assert (april[0].start, april[0].end) == (date(2026, 4, 1), date(2026, 4, 5))


def test_only_whole_buckets_inside_the_range_that_are_over_are_reported():
    weeks, months = buckets.whole_buckets(date(2026, 3, 3), date(2026, 4, 30), date(2026, 4, 12))
    assert [(w.start.isoformat(), w.end.isoformat()) for w in weeks] == [
        ("2026-03-09", "2026-03-15"), ("2026-03-16", "2026-03-22"), ("2026-03-23", "2026-03-29"),
        ("2026-03-30", "2026-03-31"), ("2026-04-01", "2026-04-05")]  # 6–12 April ends today
    assert months == []  # March starts before the range, April is not over
    _, months = buckets.whole_buckets(date(2026, 3, 1), date(2026, 4, 30), date(2026, 5, 1))
    assert [m.describe() for m in months] == [
        {"from": "2026-03-01", "to": "2026-03-31", "month": "2026-03"},
        {"from": "2026-04-01", "to": "2026-04-30", "month": "2026-04"}]


# --- cells ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "k", "cell"), [
    (0, 10, 0), (1, 10, "<10"), (9, 10, "<10"), (10, 10, 10),
    (0, 1, 0), (1, 1, 1),       # K = 1 hides nothing: a zero is 0, never "<1"
    (0, 3, 0), (2, 3, "<3"),
    (0, 2, "<2"), (1, 2, "<2"),  # K = 2: a shown zero would make every "<2" a 1
])
def test_a_true_zero_is_shown_as_zero_where_that_hides_nothing(count, k, cell):
    assert day_cell(count, k) == cell


def test_a_zero_stays_hidden_where_the_figure_asks_for_it_unless_k_is_1():
    assert day_cell(0, K, zero=False) == "<10"
    assert day_cell(0, 1, zero=False) == 0  # "<1" could only mean 0


# --- which buckets are shown ----------------------------------------------------------------------


def test_a_week_of_three_a_day_shows_21_where_each_day_is_below_k():
    week = Calendar.of(date(2024, 7, 1), date(2024, 7, 7), LATER)  # Monday to Sunday
    figure = week.figure([3] * 7, K)
    assert figure.days == ["<10"] * 7
    assert figure.weeks == [21]
    assert figure.total == 21


def test_a_week_is_withheld_when_its_shown_days_would_give_away_the_hidden_one():
    week = Calendar.of(date(2024, 7, 1), date(2024, 7, 7), LATER)
    figure = week.figure([15, 22, 31, 12, 40, 18, 3], K)
    assert figure.days[-1] == "<10"
    assert figure.weeks == [">=138"]  # not 141: 141 - 138 would be the hidden day
    assert figure.total == ">=138"


def test_a_month_is_withheld_when_its_shown_weeks_would_give_away_a_hidden_part():
    june = month(date(2026, 6, 1))  # Monday 1 June: weeks 1-7, 8-14, 15-21, 22-28, 29-30
    counts = [3] * 28 + [2, 1]       # four weeks of 21 shown; 29-30 June hold 3, below K
    figure = june.figure(counts, K)
    assert figure.weeks == [21, 21, 21, 21, ">=0"]
    assert figure.months == [">=84"]  # 87 - 84 would be the last two days together
    assert figure.total == ">=84"


def test_a_month_reaching_k_shows_what_its_withheld_weeks_hide():
    june = month(date(2026, 6, 1))
    counts = [2, 3, 0, 0, 2, 0, 0] * 4 + [0, 0]  # each week 7 over 3 days: below K
    figure = june.figure(counts, K)
    assert figure.weeks == [">=0"] * 4 + [0]
    assert figure.months == [28]
    assert figure.total == 28


def test_a_month_is_withheld_when_its_figure_would_pin_the_days_at_one():
    june = month(date(2026, 6, 1))
    counts = [1, 0, 1, 0, 1, 0, 0] * 4 + [1, 0]  # 13 registrations on 13 days
    figure = june.figure(counts, K)
    # 13 reaches K, but 13 over 13 days shown as non-zero says each of them was exactly 1.
    assert figure.months == [">=0"]


def test_every_report_covering_a_bucket_shows_the_same_figure_for_it():
    counts = {date(2026, 3, 1) + timedelta(days=i): (i * 7) % 13 for i in range(61)}

    def report(first, last):
        cal = Calendar.of(first, last, LATER)
        figure = cal.figure([counts[d] for d in cal.days], K)
        return cal, figure

    whole, whole_figure = report(date(2026, 3, 1), date(2026, 4, 30))
    part, part_figure = report(date(2026, 3, 12), date(2026, 4, 21))
    cells = dict(zip(whole.weeks, whole_figure.weeks))
    assert part.weeks and all(cells[w] == c for w, c in zip(part.weeks, part_figure.weeks))
    assert dict(zip(whole.days, whole_figure.days)) | dict(zip(part.days, part_figure.days)) == \
        dict(zip(whole.days, whole_figure.days))


def test_the_total_adds_the_shown_months_then_weeks_then_days():
    cal = Calendar.of(date(2026, 5, 28), date(2026, 7, 2), LATER)  # end of May, June, 1-2 July
    june = [2, 3, 0, 0, 2, 0, 0] * 4 + [0, 0]
    figure = cal.figure([12] * 4 + june + [11, 0], K)
    assert figure.months == [28]
    assert figure.total == 12 * 4 + 28 + 11
    assert len(cal.cover(figure.days, figure.weeks, figure.months)) == 4 + 1 + 2


# --- the reader who subtracts, bounds and knows the rule ------------------------------------------


def shown_rule(cal: Calendar, counts: list, k: int, lo: int) -> tuple:
    """Everything the report shows about ``counts``: the product's rule."""
    cells = [day_cell(c, k, zero=bool(lo)) for c in counts]
    figure = cal.figure(counts, k, cells=cells, lo=lo)
    return figure.days, figure.weeks, figure.months


def naive_rule(cal: Calendar, counts: list, k: int, lo: int) -> tuple:
    """What a report would show if a bucket were shown whenever it reached K."""
    cells = [day_cell(c, k, zero=bool(lo)) for c in counts]
    at = {d: i for i, d in enumerate(cal.days)}

    def cell(bucket):
        value = sum(counts[at[d]] for d in bucket.days)
        return value if value >= k else "hidden"

    return cells, [cell(w) for w in cal.weeks], [cell(m) for m in cal.months]


def what_a_reader_can_tell(cal: Calendar, counts: list, k: int, lo: int, rule) -> dict:
    """Every hidden day → the values it could hold, given all a report shows (by ``rule``):
    every assignment of the hidden days that shows exactly the same report. Every group of
    weeks (a frozenset of ``Bucket``) → the values its hidden days could add up to."""
    seen = rule(cal, counts, k, lo)
    hidden = [i for i, cell in enumerate(seen[0]) if not is_shown(cell)]
    groups = [frozenset(g) for n in range(1, len(cal.weeks) + 1)
              for g in combinations(cal.weeks, n)]
    in_group = {g: [i for i in hidden if any(w.start <= cal.days[i] <= w.end for w in g)]
                for g in groups}
    possible = {i: set() for i in hidden} | {g: set() for g in groups}
    for values in product(range(lo, k), repeat=len(hidden)):
        trial = list(counts)
        for i, value in zip(hidden, values):
            trial[i] = value
        if rule(cal, trial, k, lo) == seen:
            for i, value in zip(hidden, values):
                possible[i].add(value)
            for group, days in in_group.items():
                possible[group].add(sum(trial[i] for i in days))
    return possible


def narrowed(possible: dict, k: int, lo: int) -> dict:
    """What the reader learnt: hidden days not free to hold any of lo..K-1, and groups of
    weeks whose hidden days add up to one known number below K."""
    return {key: values for key, values in possible.items()
            if (values != set(range(lo, k)) if isinstance(key, int)
                else len(values) == 1 and 0 < min(values) < k)}


def small_site_month(seed: int, first: date, k: int, lo: int, most_hidden: int) -> list:
    """A month of counts: some days at K or above, some zero, at most ``most_hidden`` below K."""
    rng, counts, hidden = random.Random(seed), [], 0
    for _ in month(first).days:
        roll = rng.random()
        if roll < 0.5 and hidden < most_hidden:
            counts.append(rng.randint(lo, k - 1))
            hidden += 1
        elif roll < 0.75 and lo:
            counts.append(0)
        else:
            counts.append(rng.randint(k, 3 * k))
    return counts


CASES = [(seed, first, k, lo, most_hidden)
         for seed in range(6)
         for first, k, lo, most_hidden in ((date(2026, 6, 1), 3, 1, 10),   # zeros shown
                                           (date(2026, 4, 1), 4, 1, 6),
                                           (date(2026, 4, 1), 3, 0, 6),    # zeros hidden
                                           (date(2026, 3, 1), 2, 0, 10))]  # K = 2


@pytest.mark.parametrize(("seed", "first", "k", "lo", "most_hidden"), CASES)
def test_no_hidden_day_can_be_narrowed_by_anything_the_report_shows_or_withholds(
        seed, first, k, lo, most_hidden):
    counts = small_site_month(seed, first, k, lo, most_hidden)
    possible = what_a_reader_can_tell(month(first), counts, k, lo, shown_rule)
    assert any(isinstance(key, int) for key in possible), "the month should have hidden days"
    assert narrowed(possible, k, lo) == {}


def test_a_month_is_withheld_where_its_weeks_withheld_for_their_own_reasons_would_pin_a_day():
    """Far enough from both ends is not enough: with K = 3, 44 for this June would leave 16 June,
    the one hidden day of its week (withheld, 15 shown beside it), nothing but 1."""
    june = month(date(2026, 6, 1))
    counts = [1, 2, 0, 2, 2, 0, 2, 2, 4, 0, 1, 1, 2, 0, 0, 1, 0, 0, 8, 7, 0, 0, 0, 0, 0, 9, 0,
              0, 0, 0]
    days, weeks, months = shown_rule(june, counts, 3, 1)
    assert weeks == [">=0", 10, ">=15", 9, 0]
    assert months == [">=34"]
    possible = what_a_reader_can_tell(june, counts, 3, 1, shown_rule)
    assert possible[15] == {1, 2}
    assert narrowed(possible, 3, 1) == {}


@pytest.mark.parametrize(("k", "counts", "shown_weeks", "shown_month"), [
    (2, [0, 1, 0, 0, 2, 2, 1, 0, 4, 0, 3, 0, 0, 1, 1, 4, 0, 2, 3, 4, 2, 4, 2, 2, 3, 2, 3, 3, 2,
         2], [">=2", ">=9", 11, 19, 10], ">=51"),
    (3, [4, 0, 2, 0, 0, 1, 0, 4, 4, 0, 5, 1, 3, 6, 5, 5, 4, 4, 6, 6, 6, 3, 3, 3, 3, 3, 3, 6, 6,
         6], [">=4", ">=13", 33, 27, 21], ">=98"),
])
def test_where_zeros_are_hidden_a_month_is_withheld_if_it_would_pin_a_weeks_hidden_part(
        k, counts, shown_weeks, shown_month):
    """A zero written "<K" leaves each hidden day free from 0 up; the month must then also
    keep each withheld week's hidden part from being one number below K (April 2026: its first
    two weeks would each be found to hide exactly 1, or 2)."""
    april = month(date(2026, 4, 1))
    days, weeks, months = shown_rule(april, counts, k, 0)
    assert (weeks, months) == (shown_weeks, [shown_month])
    assert narrowed(what_a_reader_can_tell(april, counts, k, 0, shown_rule), k, 0) == {}


def test_the_months_above_show_weeks_and_months_over_hidden_days():
    """The check above looks at reports that do show buckets over hidden days."""
    seen = {"week": 0, "month": 0, "withheld": 0}
    for seed, first, k, lo, most_hidden in CASES:
        cal = month(first)
        counts = small_site_month(seed, first, k, lo, most_hidden)
        days, weeks, months = shown_rule(cal, counts, k, lo)
        for week, cell in zip(cal.weeks, weeks):
            inside = [days[cal.days.index(d)] for d in week.days]
            seen["week"] += is_shown(cell) and not all(map(is_shown, inside))
            seen["withheld"] += not is_shown(cell)
        seen["month"] += is_shown(months[0]) and not all(map(is_shown, weeks))
    assert seen["week"] >= 3 and seen["month"] >= 3 and seen["withheld"] >= 3


def test_the_reader_recovers_hidden_days_from_a_rule_that_shows_every_bucket_reaching_k():
    """The reader of the tests above is not blind: against a naive rule it finds the days."""
    week = Calendar.of(date(2024, 7, 1), date(2024, 7, 7), LATER)
    possible = what_a_reader_can_tell(week, [15, 22, 31, 12, 40, 18, 3], K, 1, naive_rule)
    assert narrowed(possible, K, 1) == {6: {3}, frozenset(week.weeks): {3}}
    june = month(date(2026, 6, 1))
    counts = [1, 0, 1, 0, 1, 0, 0] * 4 + [1, 0]
    found = narrowed(what_a_reader_can_tell(june, counts, 3, 1, naive_rule), 3, 1)
    assert {i: values for i, values in found.items() if isinstance(i, int)} == {
        i: {1} for i, count in enumerate(counts) if count}


def test_a_hidden_day_outside_the_range_a_hidden_day_can_hold_is_refused():
    with pytest.raises(ValueError):
        Calendar.of(date(2024, 7, 1), date(2024, 7, 1), LATER).figure([0], K, cells=["<10"], lo=1)


def test_a_bucket_knows_its_days():
    week = Bucket("week", date(2026, 3, 30), date(2026, 3, 31))
    assert week.days == [date(2026, 3, 30), date(2026, 3, 31)]
    assert week.describe() == {"from": "2026-03-30", "to": "2026-03-31"}
