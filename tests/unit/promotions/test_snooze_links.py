"""Pause links without servers: a token names one member under its own signing purpose."""
import pytest

from chalicelib import promotions
from chalicelib.platform.errors import ValidationError


def test_a_pause_token_is_its_members_and_nothing_else(moto_world):
    token = promotions.snooze_token("member-a")
    assert promotions.read_snooze_token(token) == "member-a"
    assert promotions.snooze_url("member-a", "one_month") == (
        f"https://eso.example/snooze?token={token}&period=one_month")
    signature = token.rpartition(".")[2]
    unsubscribe = promotions.unsubscribe_token("member-a", "offers")
    for forged in ("member-b." + signature, token + "x", "member-a", "",
                   unsubscribe, "member-a." + unsubscribe.rpartition(".")[2]):
        with pytest.raises(ValidationError) as refused:
            promotions.read_snooze_token(forged)
        assert (refused.value.code, refused.value.field) == ("invalid_token", "token")
    with pytest.raises(ValidationError):  # and a pause token unsubscribes from nothing
        promotions.read_unsubscribe_token(token)
