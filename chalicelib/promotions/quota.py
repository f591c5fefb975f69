"""Sending within the SES account's limits: its rate, shared by the whole stage, and its
24-hour quota.

SES gives an account two limits (GetAccount's ``SendQuota``): ``MaxSendRate`` messages per
second and ``Max24HourSend`` messages in any rolling 24 hours. Both are the account's, not a
container's, so:

- *Rate.* The send worker runs at most ``SEND_CONCURRENCY`` containers at once (the SQS event
  source's maximum concurrency), and each paces itself at ``rate / SEND_CONCURRENCY``: however
  many run, together they stay at or below the account's rate. Without a queue (the local stack)
  one process sends, at the whole rate. ``ESO_SEND_RATE``, when set, caps the rate further.
- *Quota.* The account is read at most once a minute per container (``account()``); a batch
  that would not fit in what that reading leaves (less what this container sent since) is not
  sent, and SES's own refusal ("Daily message quota exceeded", or an entry's
  ``ACCOUNT_DAILY_QUOTA_EXCEEDED``) means the same: the promotion is *paused* until
  ``resume_time`` (see sending.py), never retried into the dead-letter queue.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Callable, NamedTuple, Optional

from chalicelib.platform import clock, mail
from chalicelib.platform.settings import get_settings
from chalicelib.promotions.limits import SEND_CONCURRENCY

ACCOUNT_TTL = timedelta(seconds=60)
WINDOW = timedelta(hours=24)
MIN_PAUSE = timedelta(minutes=15)
RECHECK = timedelta(hours=1)     # a pause whose time came while the account is still full
EARLY_RESUME_SHARE = 0.1         # resume before the time once a tenth of the quota is free

_cache: dict = {}                # "account": (read at, Account), "sent": sent since the read


def account(fresh: bool = False) -> mail.Account:
    """The account's limits, read at most once a minute per container (``fresh``: now)."""
    now = clock.now()
    sender = mail.sender()
    whose = (id(sender), get_settings().ses_endpoint)
    cached = _cache.get("account")
    if (fresh or cached is None or cached[2] != whose
            or not (cached[0] <= now < cached[0] + ACCOUNT_TTL)):
        cached = _cache["account"] = (now, sender.account(), whose)
        _cache["sent"] = 0
    return cached[1]


def forget() -> None:
    """Read the account again next time (after SES refused a call for its quota)."""
    _cache.clear()


def note_sent(count: int) -> None:
    _cache["sent"] = _cache.get("sent", 0) + count


def remaining() -> int:
    """What the account may still send in its 24-hour window, as far as this container knows."""
    return max(0, account().remaining - _cache.get("sent", 0))


def concurrency() -> int:
    """How many containers may send at once: the bounded send worker, or one process locally."""
    return SEND_CONCURRENCY if get_settings().send_queue else 1


def container_rate(limits: Optional[mail.Account] = None) -> float:
    """Messages per second this container may hand to SES: the stage's share."""
    limits = limits or account()
    rate = limits.max_send_rate
    capped = get_settings().send_rate_cap
    if capped is not None:
        rate = min(rate, capped)
    return max(rate, 0.01) / concurrency()


class Forecast(NamedTuple):
    """What sending ``audience`` messages now would meet."""

    audience: int
    remaining: int          # the account's room in the 24-hour window now
    max_24_hour_send: int
    stage_rate: float       # messages per second, the whole stage
    fits: bool
    pauses: int             # how many times sending would stop for the quota
    finishes_at: datetime   # when the last message would go out, at the earliest

    def warning(self) -> Optional[str]:
        if self.fits:
            return None
        return (f"This promotion goes to {self.audience:,} members, but SES lets the account "
                f"send only {self.remaining:,} more messages in the next 24 hours (its quota is "
                f"{self.max_24_hour_send:,} per 24 hours). Sending pauses when the quota is "
                f"reached and resumes on its own as the quota allows: it would finish around "
                f"{clock.iso(self.finishes_at)[:16].replace('T', ' ')} UTC. Ask AWS to raise "
                f"the quota to send it in one go.")


def forecast(audience: int, limits: mail.Account, now: datetime) -> Forecast:
    """The quota arithmetic: ``audience`` messages against the account's room and rate.

    The first ``remaining`` go out now at the stage's rate; each further full quota needs a new
    24-hour window, at the earliest 24 hours after the previous window began.
    """
    quota = int(limits.max_24_hour_send)
    room = limits.remaining
    rate = container_rate(limits) * concurrency()
    fits = audience <= room
    if fits:
        pauses, last_window, in_last = 0, now, audience
    else:
        rest = audience - room
        pauses = math.ceil(rest / quota) if quota > 0 else 0
        last_window = now + WINDOW * pauses
        in_last = rest - quota * (pauses - 1) if quota > 0 else rest
    finishes = last_window + timedelta(seconds=in_last / rate)
    return Forecast(audience, room, quota, rate, fits, pauses, finishes)


def resume_time(window_started_at: Optional[datetime], now: datetime) -> datetime:
    """When a paused promotion may go on: when the messages sent since its sending began
    (most of the window's count) leave the 24-hour window, and never sooner than 15 minutes."""
    start = window_started_at or now
    return max(start + WINDOW, now + MIN_PAUSE)


def may_resume(resume_at: Optional[datetime], now: datetime, batch_size: int,
               waiting: Callable[[], int]) -> tuple:
    """(resume now?, the next time to look) for a paused promotion, from a fresh reading.

    It resumes only when the room takes at least its first batch (``batch_size``, or the
    ``waiting`` members when fewer; counted only when the room is below a batch): a batch
    that does not fit is not sent and pauses the promotion again at once."""
    limits = account(fresh=True)
    room = limits.remaining
    due = resume_at is None or now >= resume_at
    if room > 0 and (due or room >= EARLY_RESUME_SHARE * limits.max_24_hour_send) and (
            room >= batch_size or room >= waiting()):
        return True, resume_at
    return False, now + RECHECK if due else resume_at
