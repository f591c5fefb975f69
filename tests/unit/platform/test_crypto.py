"""Sealed values: readable back with the stage key and purpose only, and never altered."""
import pytest

from chalicelib.platform.crypto import seal, unseal


@pytest.fixture(autouse=True)
def local_key(monkeypatch):
    monkeypatch.setenv("ESO_STAGE", "local")
    monkeypatch.setenv("ESO_SECRET", "a-test-key-0123456789abcdef")


def test_a_sealed_value_reads_back_and_does_not_show_the_plaintext():
    sealed = seal("totp-secret", "JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert sealed != seal("totp-secret", "JBSWY3DPEHPK3PXP")  # a fresh nonce each time
    assert unseal("totp-secret", sealed) == "JBSWY3DPEHPK3PXP"


def test_an_altered_value_another_purpose_or_another_key_is_refused(monkeypatch):
    sealed = seal("totp-secret", "JBSWY3DPEHPK3PXP")
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for purpose, value in (("totp-secret", flipped), ("other", sealed), ("totp-secret", "v1."),
                           ("totp-secret", "plain text")):
        with pytest.raises(ValueError):
            unseal(purpose, value)
    monkeypatch.setenv("ESO_SECRET", "another-key-0123456789abcdef")
    with pytest.raises(ValueError):
        unseal("totp-secret", sealed)
