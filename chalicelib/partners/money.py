"""Money as partners report it: ISO 4217 currencies with their minor units, decimal strings.

Amounts are never floats: a partner sends ``"12.50"``, we check it has no more decimals than
the currency has minor digits, and keep both the normalised string and the integer number of
minor units (what the revenue counters add up exactly).
"""
from __future__ import annotations

import re
from decimal import Decimal

from chalicelib.platform.errors import ValidationError

# Active ISO 4217 codes (list one, 2025), all with two minor digits except those listed below.
_CODES = """
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD
JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF
YER ZAR ZMW ZWG
""".split()
_EXPONENTS = {
    **{code: 0 for code in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF "
                           "XPF".split()},
    **{code: 3 for code in "BHD IQD JOD KWD LYD OMR TND".split()},
    **{code: 4 for code in "CLF UYW".split()},
}
CURRENCIES = {code: _EXPONENTS.get(code, 2) for code in _CODES}

# At most 12 integer digits: a billion-plus order is a typo or an attack, not a sale.
MAX_INTEGER_DIGITS = 12
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,%d})(?:\.([0-9]{1,4}))?$" % (MAX_INTEGER_DIGITS - 1))


def exponent(currency: str) -> int:
    """The currency's minor-unit digits (2 for USD, 0 for JPY, 3 for KWD)."""
    try:
        return CURRENCIES[currency]
    except (KeyError, TypeError):
        raise ValidationError("currency must be an ISO 4217 code such as USD or EUR. Correct it and try again.",
                              code="invalid_currency", field="currency") from None


def parse_amount(text: str, currency: str) -> tuple:
    """``("12.5", "USD")`` → ``("12.50", 1250)``; refuses floats' forms, signs and extra digits."""
    digits = exponent(currency)
    match = _AMOUNT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(
            f"amount must be a positive decimal string such as \"12.50\", with at most "
            f"{MAX_INTEGER_DIGITS} digits before the point. Correct it and try again.", code="invalid_amount", field="amount")
    fraction = match.group(2) or ""
    if len(fraction) > digits:
        raise ValidationError(f"{currency} amounts have at most {digits} decimal places. Round it and try again.",
                              code="invalid_amount", field="amount")
    minor = int(match.group(1) + fraction.ljust(digits, "0"))
    if minor <= 0:
        raise ValidationError("amount must be greater than zero. Report refunds as reversals.", code="invalid_amount",
                              field="amount")
    return format_minor(minor, currency), minor


def format_minor(minor: int, currency: str) -> str:
    """Minor units → the decimal string of the currency (``1250, "USD"`` → ``"12.50"``)."""
    digits = CURRENCIES[currency]
    value = Decimal(minor).scaleb(-digits)
    return f"{value:.{digits}f}"
