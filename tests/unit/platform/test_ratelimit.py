"""Fixed-window throttles without servers: what is allowed, when it is refused, for how long."""
import uuid
from types import SimpleNamespace

import pytest

from chalicelib.platform import ratelimit
from chalicelib.platform.errors import RateLimitedError
from chalicelib.platform.ratelimit import RateLimit

HOUR = 3600
WINDOW_START = 1_796_000_400  # a whole hour (2026-11-30 08:00 UTC)


def new_key() -> str:
    return f"test:{uuid.uuid4()}"


def stored_count(item_key: str):
    """The stored count of one window, None when there is no item."""
    try:
        return int(RateLimit.get(item_key).count)
    except RateLimit.DoesNotExist:
        return None


def test_events_are_counted_per_key_and_window(moto_tables):
    key, other = new_key(), new_key()
    assert ratelimit.hit(key, HOUR, now=WINDOW_START) == 1
    assert ratelimit.hit(key, HOUR, now=WINDOW_START + HOUR - 1) == 2
    assert ratelimit.hit(key, HOUR, now=WINDOW_START + 10, amount=3) == 5
    assert ratelimit.hit(other, HOUR, now=WINDOW_START) == 1
    assert ratelimit.hit(key, HOUR, now=WINDOW_START + HOUR) == 1  # the next window starts at 0


def test_a_window_is_stored_under_its_start_and_expires_at_its_end(moto_tables):
    key = new_key()
    ratelimit.hit(key, 600, now=WINDOW_START + 1234)
    item = RateLimit.get(f"{key}@{WINDOW_START + 1200}")
    assert item.count == 1
    assert item.expires_at.timestamp() == WINDOW_START + 1800


def test_the_default_time_is_now(moto_tables, monkeypatch):
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: WINDOW_START + 7.5))
    key = new_key()
    ratelimit.hit(key, HOUR)
    assert stored_count(f"{key}@{WINDOW_START}") == 1
    with pytest.raises(RateLimitedError) as refused:
        ratelimit.take(key, 1, HOUR)
    assert refused.value.retry_after == HOUR - 8  # whole seconds left, rounded down
    ratelimit.forget(key, HOUR)
    assert stored_count(f"{key}@{WINDOW_START}") is None


def test_the_limit_is_allowed_and_the_next_event_refused_until_the_window_ends(moto_tables):
    key = new_key()
    for _ in range(3):
        ratelimit.take(key, 3, HOUR, now=WINDOW_START + 100)
    with pytest.raises(RateLimitedError) as refused:
        ratelimit.take(key, 3, HOUR, now=WINDOW_START + 100, message="Slow down.")
    assert str(refused.value) == "Slow down." and refused.value.code == "too_many_attempts"
    assert refused.value.retry_after == HOUR - 100
    ratelimit.take(key, 3, HOUR, now=WINDOW_START + HOUR)  # a new window


def test_the_refusal_message_says_to_try_later(moto_tables):
    key = new_key()
    ratelimit.take(key, 1, HOUR, now=WINDOW_START)
    with pytest.raises(RateLimitedError, match=r"^Too many requests; try again later\.$"):
        ratelimit.take(key, 1, HOUR, now=WINDOW_START)


def test_refused_events_are_not_counted(moto_tables):
    key = new_key()
    ratelimit.take(key, 2, HOUR, now=WINDOW_START)
    ratelimit.take(key, 2, HOUR, now=WINDOW_START)
    for _ in range(5):
        with pytest.raises(RateLimitedError):
            ratelimit.take(key, 2, HOUR, now=WINDOW_START + 5)
    assert RateLimit.get(f"{key}@{WINDOW_START}").count == 2


def test_retry_after_is_at_least_one_second(moto_tables):
    key = new_key()
    ratelimit.take(key, 1, HOUR, now=WINDOW_START + HOUR - 0.5)
    with pytest.raises(RateLimitedError) as refused:
        ratelimit.take(key, 1, HOUR, now=WINDOW_START + HOUR - 0.5)
    assert refused.value.retry_after == 1


def test_forget_deletes_the_current_window_of_that_key_only(moto_tables):
    key, other = new_key(), new_key()
    ratelimit.hit(key, HOUR, now=WINDOW_START + 5, amount=4)
    ratelimit.hit(other, HOUR, now=WINDOW_START + 5)
    ratelimit.forget(key, HOUR, now=WINDOW_START + 50)
    assert stored_count(f"{key}@{WINDOW_START}") is None
    assert stored_count(f"{other}@{WINDOW_START}") == 1
    ratelimit.take(key, 1, HOUR, now=WINDOW_START + 60)  # allowed again


def test_a_counted_attempt_keeps_wrong_answers_and_gives_back_right_ones(moto_tables):
    key, limits, now = new_key(), ((2, 600), (3, HOUR)), WINDOW_START + 5
    short, day = f"{key}:600@{WINDOW_START}", f"{key}:{HOUR}@{WINDOW_START}"
    with ratelimit.counted_attempt(key, limits, now, "Slow down."):
        assert (stored_count(short), stored_count(day)) == (1, 1)  # counted before the check
    assert (stored_count(short), stored_count(day)) == (0, 0)  # right: taken back
    for _ in range(2):
        with pytest.raises(ValueError), ratelimit.counted_attempt(key, limits, now, "Slow down."):
            raise ValueError("wrong")
    assert (stored_count(short), stored_count(day)) == (2, 2)  # wrong: kept
    with pytest.raises(RateLimitedError, match="Slow down.") as refused:
        with ratelimit.counted_attempt(key, limits, now, "Slow down."):
            pytest.fail("a refused attempt is not checked")
    assert refused.value.retry_after == 595
    assert (stored_count(short), stored_count(day)) == (2, 2)  # a refusal counts nowhere


def test_a_counted_attempt_refused_by_a_later_window_gives_back_the_earlier_ones(moto_tables):
    key, now = new_key(), WINDOW_START + 5
    ratelimit.hit(f"{key}:{HOUR}", HOUR, now=now, amount=3)
    with pytest.raises(RateLimitedError):
        with ratelimit.counted_attempt(key, ((2, 600), (3, HOUR)), now, "Slow down."):
            pytest.fail("a refused attempt is not checked")
    assert stored_count(f"{key}:600@{WINDOW_START}") == 0
    assert stored_count(f"{key}:{HOUR}@{WINDOW_START}") == 3
