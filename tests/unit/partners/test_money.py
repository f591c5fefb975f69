"""Amounts as partners send them: decimal strings in the currency's minor units, never floats."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.partners import money
from chalicelib.platform.errors import ValidationError


@pytest.mark.parametrize("text, currency, expected", [
    ("12.50", "USD", ("12.50", 1250)), ("12.5", "USD", ("12.50", 1250)),
    ("12", "EUR", ("12.00", 1200)), ("0.01", "USD", ("0.01", 1)),
    ("1200", "JPY", ("1200", 1200)), ("1.234", "KWD", ("1.234", 1234)),
    ("999999999999.99", "USD", ("999999999999.99", 99999999999999)),
])
def test_valid_amounts_are_normalised_to_the_currency_exponent(text, currency, expected):
    assert money.parse_amount(text, currency) == expected


@pytest.mark.parametrize("text, currency", [
    ("12.505", "USD"), ("1.5", "JPY"), ("1.2345", "KWD"), ("-1.00", "USD"), ("+1", "USD"),
    ("0", "USD"), ("0.00", "USD"), ("1e3", "USD"), ("1_000", "USD"), ("١٢", "USD"),
    ("1000000000000", "USD"), ("NaN", "USD"), ("", "USD"), (None, "USD"), (12.5, "USD"),
    ("12.50", "usd"), ("12.50", "XXX"), ("12.50", None),
])
def test_invalid_amounts_and_currencies_are_refused(text, currency):
    with pytest.raises(ValidationError):
        money.parse_amount(text, currency)


def test_minor_unit_exponents_follow_iso_4217():
    assert [money.exponent(c) for c in ("USD", "EUR", "JPY", "KRW", "BHD", "KWD", "CLF")] == [
        2, 2, 0, 0, 3, 3, 4]
    assert len(money.CURRENCIES) > 150


@given(st.sampled_from(sorted(money.CURRENCIES)), st.integers(min_value=1, max_value=10 ** 11))
def test_formatting_minor_units_and_parsing_back_round_trips(currency, minor):
    assert money.parse_amount(money.format_minor(minor, currency), currency)[1] == minor
