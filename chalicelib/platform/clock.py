"""The one clock: what time it is, how to wait, and how times are written on the wire.

Services ask ``clock.now()`` and ``clock.sleep()``; tests install a ``FakeClock`` with
``clock.use(...)`` instead of patching private names. Times in JSON are RFC 3339 in UTC with
``Z`` (``clock.iso``).
"""
from __future__ import annotations

import contextlib
import random
import time
from datetime import date, datetime, timedelta, timezone

# The days a report or an export may ask about: any range of them can be walked a day at a
# time (the last representable day cannot: its next day overflows).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
DAY_RANGE_MESSAGE = "Give a day from 2000-01-01 to 2999-12-31."


class SystemClock:
    """Wall-clock time in UTC and real sleeping."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told (``advance``) or when slept on (instantly)."""

    def __init__(self, start: datetime | None = None):
        self.current = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self.slept: list = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def monotonic(self) -> float:
        return self.current.timestamp()

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


_clock = SystemClock()


def now() -> datetime:
    return _clock.now()


def sleep(seconds: float) -> None:
    if seconds > 0:
        _clock.sleep(seconds)


def monotonic() -> float:
    return _clock.monotonic()


def jitter_sleep(attempt: int, base: float = 0.01, cap: float = 2.0) -> None:
    """Wait before retry ``attempt`` (0-based): growing, capped, randomised so that racing
    writers do not retry in step."""
    sleep(min(cap, base * (2 ** attempt)) * random.uniform(0.5, 1.0))


@contextlib.contextmanager
def use(clock):
    """Install ``clock`` for the duration of a ``with`` block."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``: the one timestamp format of the JSON API and exports."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def today(moment: datetime | None = None):
    """The UTC day of ``moment`` (default: now): the day aggregate figures are counted on."""
    return (moment or now()).astimezone(timezone.utc).date()


def add_months(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months later (earlier when negative), on the last day
    of the month when that month is shorter (31 January + 1 month = 28 or 29 February)."""
    import calendar

    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))
