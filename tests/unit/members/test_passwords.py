"""Password checks spend the same argon2 work whatever is stored."""
import pytest

from chalicelib.members import passwords


@pytest.fixture
def verifications(monkeypatch):
    """Counts argon2 verifications, the work that decides how long a check takes."""
    real, counted = passwords._hasher(), []

    class Counting:
        def verify(self, stored, password):
            from argon2.exceptions import InvalidHashError

            try:
                result = real.verify(stored, password)
            except InvalidHashError:
                raise  # refused before any hashing: no work, not counted
            except Exception:
                counted.append(stored)
                raise
            counted.append(stored)
            return result

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Counting)
    return counted


@pytest.mark.parametrize("stored", [
    None,                                       # no such account
    "!locked-after-undo!abcdefghijklmnop",      # a password made unusable
    passwords._dummy_hash(),                    # a real hash of another password
])
def test_a_wrong_password_spends_one_verification_whatever_is_stored(verifications, stored):
    assert passwords.verify_password(stored, "correct horse battery staple") is False
    assert len(verifications) == 1
