"""One-time codes shared by members and operators: which time steps a code is accepted for,
how typed codes are read, and recovery codes."""
from datetime import datetime, timedelta, timezone

import pyotp

from chalicelib.platform import otp

SECRET = pyotp.random_base32()
NOW = datetime(2026, 3, 1, 12, 0, 15, tzinfo=timezone.utc)


def code_at(moment: datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


def test_a_code_is_accepted_for_its_step_and_one_either_side_only():
    step = otp.step(NOW)
    for offset in (-1, 0, 1):
        assert otp.matching_step(SECRET, code_at(NOW + timedelta(seconds=30 * offset)), NOW) == step + offset
    for offset in (-2, 2):
        assert otp.matching_step(SECRET, code_at(NOW + timedelta(seconds=30 * offset)), NOW) is None


def test_only_six_digits_are_a_code():
    code = code_at(NOW)
    assert otp.matching_step(SECRET, code + "0", NOW) is None
    assert otp.matching_step(SECRET, code[:5], NOW) is None
    assert otp.matching_step(None, code, NOW) is None


def test_typed_codes_lose_spaces_and_dashes_and_case():
    assert otp.clean(" AbCd-efgh 2345 ") == "abcdefgh2345"
    assert otp.clean(None) == "" and otp.clean(123456) == ""


def test_recovery_codes_are_ten_distinct_unambiguous_codes_stored_as_salted_hashes():
    shown, hashes = otp.new_recovery_codes("owner-1")
    assert len(set(shown)) == 10 and len(hashes) == 10
    for code in shown:
        assert len(code) == 14 and code.count("-") == 2
        assert not set(otp.clean(code)) & set("01lo")
        assert otp.recovery_hash("owner-1", otp.clean(code)) in hashes
        assert otp.recovery_hash("owner-2", otp.clean(code)) not in hashes  # salted per owner
