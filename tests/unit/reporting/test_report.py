"""Totals over suppressed cells cannot be differenced into a hidden value."""
import pytest

from chalicelib.reporting import buckets, report
from chalicelib.statistics import suppression


def cells(*counts, k=10):
    return [suppression.suppress(c, k) for c in counts]


def test_a_total_adds_only_the_shown_cells_and_says_when_it_is_a_lower_bound():
    assert buckets.total(cells(12, 30, 11)) == 53
    assert buckets.total(cells(12, 9, 11)) == ">=23"
    assert buckets.total(cells(3, 9)) == ">=0"
    assert buckets.total(cells(9)) == "<10"  # one cell is itself
    assert buckets.total(["<10", ">=40", 12]) == ">=52"  # totals of totals keep the lower bound


@pytest.mark.parametrize("hidden", range(0, 10))
def test_differencing_two_ranges_never_yields_a_hidden_day(hidden):
    week = cells(15, 22, 31, 12, 40, 18, hidden)
    six_days = week[:-1]
    longer, shorter = buckets.total(week), buckets.total(six_days)
    as_number = lambda t: int(str(t).lstrip(">="))  # noqa: E731
    assert as_number(longer) - as_number(shorter) == 0  # not `hidden`


def test_cells_read_as_people_expect():
    assert [report.shown(c) for c in (1234, 0, "<10", ">=1500", ">=0")] == [
        "1,234", "0", "<10", "≥1,500", "hidden"]
    assert report.money_shown("12.50", "USD") == "12.50 USD"
    assert report.money_shown("<10", "USD") == "USD withheld (<10 sales)"
    assert report.money_shown(">=0.00", "USD") == "USD withheld (too few sales)"
    assert report.money_shown(">=25.00", "EUR") == "≥25.00 EUR"


def test_periods_read_as_people_expect():
    assert [report.period(row) for row in (
        {"date": "2026-03-02"}, {"from": "2026-03-02", "to": "2026-03-08"},
        {"month": "2026-03", "from": "2026-03-01", "to": "2026-03-31"})] == [
        "2026-03-02", "2026-03-02 to 03-08", "2026-03"]
