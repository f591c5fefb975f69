"""Referral rules that need no database: redirect targets, cursors, dates, instants, keys."""
from datetime import date, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import partners
from chalicelib.partners import referrals, transactions
from chalicelib.platform.errors import AuthenticationError, ValidationError


@pytest.mark.parametrize("landing, expected_query", [
    ("https://shop.example/", {"eso_click": ["C"]}),
    ("https://shop.example/in?a=1&b=&a=2", {"a": ["1", "2"], "eso_click": ["C"]}),
    ("https://shop.example/in?eso_click=old&x=y", {"x": ["y"], "eso_click": ["C"]}),
])
def test_the_click_id_is_added_and_the_partner_query_kept(landing, expected_query):
    url = urlsplit(referrals.landing_url_with_click(landing, "C"))
    assert (url.scheme, url.netloc) == ("https", "shop.example")
    assert parse_qs(url.query) == expected_query


@pytest.mark.parametrize("url", ["http://shop.example/", "https://", "javascript:alert(1)",
                                 "//shop.example/", "https://u:p@shop.example/",
                                 "https://shop.example/a b", "https://x.example/" + "a" * 2000,
                                 None, 5])
def test_only_absolute_https_urls_may_be_registered(url):
    with pytest.raises(ValidationError):
        partners.check_https_url(url, "landing URL")


def test_cursors_are_signed_and_bound_to_partner_and_range(stack_env):
    start, end = date(2026, 1, 1), date(2026, 1, 31)
    key = {"partner_id": {"S": "ptn_a"}, "order_id": {"S": "o-1"}}
    cursor = transactions.encode_cursor("ptn_a", start, end, key)
    assert "ptn_a" not in cursor and "o-1" not in cursor
    assert transactions.decode_cursor("ptn_a", start, end, cursor) == key
    for partner, s, e, c in [("ptn_b", start, end, cursor), ("ptn_a", date(2025, 1, 1), end, cursor),
                             ("ptn_a", start, end, cursor + "x"), ("ptn_a", start, end, "x.y"),
                             ("ptn_a", start, end, "")]:
        with pytest.raises(ValidationError):
            transactions.decode_cursor(partner, s, e, c)


@pytest.mark.parametrize("text", ["2026-03-01T12:00:00Z", "2026-03-01T14:00:00+02:00",
                                  "2026-03-01T12:00:00.123456+00:00"])
def test_instants_with_an_offset_are_read_as_utc(text):
    value = transactions.parse_instant(text, "occurred_at")
    assert value.tzinfo == timezone.utc and value.hour == 12


@pytest.mark.parametrize("text", ["2026-03-01", "2026-03-01T12:00:00", "12:00", "soon",
                                  "2026-03-01T25:00:00Z", 1767225600, None])
def test_instants_without_a_time_or_offset_are_refused(text):
    with pytest.raises(ValidationError):
        transactions.parse_instant(text, "occurred_at")


@pytest.mark.parametrize("key", [None, "", "eso_pk_", "eso_pk_XYZ_secret", "sk_live_abc",
                                 "eso_pk_0123456789abcdef_" + "a" * 39, 42])
def test_malformed_api_keys_are_refused_without_a_lookup(key):
    with pytest.raises(AuthenticationError):
        partners.authenticate(key)  # no DynamoDB is running here: no lookup was attempted
