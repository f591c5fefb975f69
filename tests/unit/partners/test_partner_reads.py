"""What a partner can read, without servers: its own transactions only, page by page, and daily
figures in which every count below K is shown as "<K"."""
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import partners
from chalicelib.partners import referrals, transactions
from chalicelib.partners.transactions import Report
from chalicelib.platform.errors import ValidationError

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
DAY = START.date()


def new_partner() -> str:
    return partners.create("Shop", "https://shop.example/",
                           privacy_policy_url="https://shop.example/privacy").partner_id


def click(partner_id, member_id=None, now=START) -> str:
    url = referrals.record_click(partner_id, "V" * 24, member_id=member_id, now=now)
    return parse_qs(urlsplit(url).query)["eso_click"][0]


def sale(partner_id, order_id, amount="10.00", currency="EUR", at=START, member_id=None):
    click_id = click(partner_id, member_id, now=at - timedelta(minutes=5))
    txn, created = transactions.report_transaction(
        partner_id, Report(click_id, order_id, amount, currency, at.isoformat()), now=at)
    assert created
    return txn


# --- the listing ---------------------------------------------------------------------------------


def test_a_transaction_is_shown_to_its_partner_without_anything_of_the_member(moto_world):
    partner_id = new_partner()
    txn = sale(partner_id, "o-1", "12.5", "USD", member_id="member-secret")
    view = transactions.transaction_view(txn)
    assert view == {"order_id": "o-1", "click_id": txn.click_id, "amount": "12.50",
                    "currency": "USD", "occurred_at": "2026-12-01T09:00:00Z",
                    "reported_at": "2026-12-01T09:00:00Z", "status": "reported",
                    "reversed_at": None, "reversal_reason": None}
    moto_world.clock.advance(60)
    reversed_ = transactions.reverse_transaction(partner_id, "o-1", "refund")
    assert transactions.transaction_view(reversed_)["reversed_at"] == "2026-12-01T09:01:00Z"
    assert transactions.transaction_view(reversed_)["reversal_reason"] == "refund"
    assert transactions.transaction_view(reversed_)["status"] == "reversed"


def test_a_partner_lists_only_its_own_transactions_of_those_days_oldest_first(moto_world):
    ours, theirs = new_partner(), new_partner()
    sale(ours, "late", at=START + timedelta(days=1, hours=14, minutes=59, seconds=59))
    sale(ours, "first-second", at=datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc))
    sale(ours, "last-moment", at=datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=timezone.utc))
    sale(ours, "day-before", at=datetime(2026, 11, 30, 23, 59, 59, tzinfo=timezone.utc))
    sale(ours, "day-after", at=datetime(2026, 12, 3, 0, 0, tzinfo=timezone.utc))
    sale(theirs, "other-partner", at=START)
    page, cursor = transactions.list_transactions(ours, date(2026, 12, 1), date(2026, 12, 2))
    assert [t.order_id for t in page] == ["first-second", "late", "last-moment"]
    assert cursor is None


def test_a_long_listing_comes_in_pages_with_a_cursor_bound_to_the_query(moto_world):
    partner_id = new_partner()
    for n in range(5):
        sale(partner_id, f"o-{n}", at=START + timedelta(minutes=n))
    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = transactions.list_transactions(partner_id, DAY, DAY, cursor, limit=2)
        seen += [t.order_id for t in page]
        pages += 1
        if cursor is None:
            break
    assert seen == [f"o-{n}" for n in range(5)] and pages == 3
    _, cursor = transactions.list_transactions(partner_id, DAY, DAY, None, limit=2)
    with pytest.raises(ValidationError) as refused:
        transactions.list_transactions(new_partner(), DAY, DAY, cursor, limit=2)
    assert (refused.value.code, refused.value.field) == ("invalid_cursor", "cursor")


def test_a_page_exactly_as_long_as_the_rest_ends_the_listing(moto_world):
    partner_id = new_partner()
    for n in range(2):
        sale(partner_id, f"o-{n}", at=START + timedelta(minutes=n))
    page, cursor = transactions.list_transactions(partner_id, DAY, DAY, None, limit=3)
    assert len(page) == 2 and cursor is None


def test_cursors_carry_the_last_key_signed_and_bound_to_partner_and_days(moto_tables, says):
    key = {"partner_id": {"S": "ptn_a"}, "order_id": {"S": "o-1"}}
    cursor = transactions.encode_cursor("ptn_a", DAY, DAY, key)
    payload, _, signature = cursor.partition(".")
    assert "=" not in payload and signature
    assert transactions.decode_cursor("ptn_a", DAY, DAY, cursor) == key
    for partner_id, start, end in [("ptn_b", DAY, DAY), ("ptn_a", DAY - timedelta(days=1), DAY),
                                   ("ptn_a", DAY, DAY + timedelta(days=1))]:
        with pytest.raises(ValidationError):
            transactions.decode_cursor(partner_id, start, end, cursor)
    with pytest.raises(ValidationError) as refused:
        transactions.decode_cursor("ptn_a", DAY, DAY, "." + signature)
    assert (refused.value.code, refused.value.field) == ("invalid_cursor", "cursor")
    assert says(refused.value, "cursor is not one we gave for this query")
    with pytest.raises(ValidationError):
        transactions.decode_cursor("ptn_a", DAY, DAY, cursor + "A" * 2000)


def cursor_of_length(length: int) -> tuple:
    """A genuine cursor of exactly ``length`` characters, and the key it carries."""
    for size in range(1300, 1600):
        key = {"k": "v" * size}
        cursor = transactions.encode_cursor("ptn_a", DAY, DAY, key)
        if len(cursor) == length:
            return cursor, key
    raise AssertionError(f"no cursor of {length} characters")


def test_a_cursor_of_2000_characters_is_read_and_a_longer_one_refused(moto_tables):
    cursor, key = cursor_of_length(2000)
    assert transactions.decode_cursor("ptn_a", DAY, DAY, cursor) == key
    cursor, _ = cursor_of_length(2002)  # (unpadded base64 is never 4n + 1 long: no 2001)
    with pytest.raises(ValidationError):
        transactions.decode_cursor("ptn_a", DAY, DAY, cursor)


def test_every_last_key_comes_back_exactly(moto_tables):
    for n in range(64):
        key = {"partner_id": {"S": f"ptn_{n}"}, "order_id": {"S": "o" * n},
               "occurred_at": {"S": f"2026-12-01T09:{n:02d}:00.000000+0000"}}
        cursor = transactions.encode_cursor("ptn_a", DAY, DAY, key)
        assert "=" not in cursor.partition(".")[0]
        assert transactions.decode_cursor("ptn_a", DAY, DAY, cursor) == key


@pytest.mark.parametrize("text, expected", [(None, 50), ("1", 1), ("100", 100), ("007", 7)])
def test_page_sizes_from_1_to_100_are_taken(text, expected):
    assert transactions.parse_limit(text) == expected


@pytest.mark.parametrize("text", ["0", "101", "999", "1000", "", "ten", "-1", "1.5", " 5"])
def test_other_page_sizes_are_refused(text, says):
    with pytest.raises(ValidationError) as refused:
        transactions.parse_limit(text)
    assert (refused.value.code, refused.value.field) == ("invalid_limit", "limit")
    assert says(refused.value, "a whole number from 1 to 100")


def test_a_day_range_is_read_inclusive_and_at_most_a_year():
    assert transactions.parse_day_range("2026-01-01", "2026-01-01") == (
        date(2026, 1, 1), date(2026, 1, 1))
    assert transactions.parse_day_range("2026-01-01", "2026-12-31") == (
        date(2026, 1, 1), date(2026, 12, 31))
    assert transactions.parse_day_range("2024-01-01", "2024-12-31")[1] == date(2024, 12, 31)
    assert transactions.parse_day_range("2000-01-01", "2000-01-01") == (date(2000, 1, 1),) * 2
    assert transactions.parse_day_range("2999-12-31", "2999-12-31") == (date(2999, 12, 31),) * 2


@pytest.mark.parametrize("start, end, field, words", [
    ("2026-1-01", "2026-01-02", "from", "from must be a date as YYYY-MM-DD"),
    (None, "2026-01-02", "from", "from must be a date as YYYY-MM-DD"),
    ("2026-01-01", "2026-02-30", "to", "to must be a date as YYYY-MM-DD"),
    ("2026-01-01", "20260102", "to", "to must be a date as YYYY-MM-DD"),
    ("2026-01-01", None, "to", "to must be a date as YYYY-MM-DD"),
    ("2026-01-02", "2026-01-01", "from", "from must not be after to"),
    ("2024-01-01", "2025-01-01", "to", "at most 366 days at once"),
    ("1999-12-31", "2000-01-01", "from", "from: Give a day from 2000-01-01 to 2999-12-31."),
    ("2000-01-01", "1999-12-31", "to", "to: Give a day from 2000-01-01 to 2999-12-31."),
    ("2999-12-31", "3000-01-01", "to", "to: Give a day from 2000-01-01 to 2999-12-31."),
    ("9999-12-31", "9999-12-31", "from", "from: Give a day from 2000-01-01 to 2999-12-31."),
])
def test_bad_day_ranges_are_refused_naming_the_field(start, end, field, words, says):
    with pytest.raises(ValidationError) as refused:
        transactions.parse_day_range(start, end)
    assert (refused.value.code, refused.value.field) == ("invalid_date", field)
    assert says(refused.value, words)


# --- the daily figures and the K rule -------------------------------------------------------------


def test_daily_figures_count_clicks_and_net_transactions_per_currency(moto_world):
    partner_id = new_partner()
    sale(partner_id, "a", "10.00", "EUR")
    sale(partner_id, "b", "5.50", "EUR")
    sale(partner_id, "c", "7", "USD")
    sale(partner_id, "d", "1.00", "EUR", at=START + timedelta(days=2))
    click(partner_id)
    transactions.reverse_transaction(partner_id, "b", "refund")
    figures = transactions.daily_figures(partner_id, DAY, DAY + timedelta(days=2))
    assert figures == {
        DAY: {"clicks": 4, "transactions": {"EUR": 1, "USD": 1}, "reversals": {"EUR": 1},
              "revenue": {"EUR": 1000, "USD": 700}},
        DAY + timedelta(days=1): {"clicks": 0, "transactions": {}, "reversals": {},
                                  "revenue": {}},
        DAY + timedelta(days=2): {"clicks": 1, "transactions": {"EUR": 1}, "reversals": {},
                                  "revenue": {"EUR": 100}},
    }


def test_the_daily_report_hides_every_count_below_k(moto_world):
    partner_id, other = new_partner(), new_partner()
    for n in range(9):
        sale(partner_id, f"s-{n}", "1.00", "EUR")
    transactions.reverse_transaction(partner_id, "s-0", "refund")
    [row] = transactions.daily_report(partner_id, DAY, DAY)
    assert row == {"date": "2026-12-01", "clicks": "<10", "transactions": "<10",
                   "reversals": "<10", "revenue": {"EUR": "8.00"}}
    for n in range(9, 21):
        sale(partner_id, f"s-{n}", "2.00", "USD")
    for n in range(1, 10):
        transactions.reverse_transaction(partner_id, f"s-{n}", "refund")
    [row] = transactions.daily_report(partner_id, DAY, DAY)
    assert row == {"date": "2026-12-01", "clicks": 21, "transactions": 11, "reversals": 10,
                   "revenue": {"EUR": "0.00", "USD": "22.00"}}
    assert list(row["revenue"]) == ["EUR", "USD"]
    [row] = transactions.daily_report(partner_id, DAY, DAY, k=30)
    assert (row["clicks"], row["transactions"], row["reversals"]) == ("<30", "<30", "<30")
    assert transactions.daily_report(other, DAY, DAY) == [
        {"date": "2026-12-01", "clicks": "<10", "transactions": "<10", "reversals": "<10",
         "revenue": {}}]


def test_the_daily_report_has_a_row_for_every_day_asked(moto_world):
    partner_id = new_partner()
    rows = transactions.daily_report(partner_id, DAY, DAY + timedelta(days=3))
    assert [r["date"] for r in rows] == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
