"""A member's promotion preferences: the topics of partner promotions, how often partner
promotions may come, and a pause of every promotion.

Each change is an event of the member's consent history (purposes ``topic:<id>``,
``frequency`` and ``snooze``, ``consent.is_preference``), written with the member's new state
in one transaction, exactly as consents are: the history shows it, receipts and the export
hold it, and ``consent verify`` checks it.

- Topics: a member takes every topic except those they turned off. Registration records an
  event only for the topics left unchosen (all of them under Global Privacy Control); a topic
  added later is on for everyone who never turned it off.
- Frequency: at most one partner promotion per ``day`` (24 hours), ``week`` (7 days) or
  ``month`` (a calendar month), counted back from the moment of sending; a member who never
  chose has the operator's default (``ESO_PROMOTION_FREQUENCY``).
- Snooze: no promotion at all (eSO's offers included) until a moment, chosen as two weeks, one
  month or three months from now; it ends on its own, or earlier when the member ends it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from chalicelib.members import consent, topics
from chalicelib.members.consent import Planned, Provenance
from chalicelib.members.models import Member
from chalicelib.platform import clock
from chalicelib.platform.clock import add_months, iso
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import (
    FREQUENCIES,
    FREQUENCY,
    SNOOZE,
    SNOOZE_PERIODS,
    TOPIC_PREFIX,
)

# --- the rules at the moment of sending ----------------------------------------------------------


def takes_topic(member: Member, topic_id: str) -> bool:
    return topic_id not in (member.topics_off or ())


def takes_any_topic(member: Member, topic_ids) -> bool:
    """Whether a promotion naming ``topic_ids`` is for the member (one is enough; a promotion
    naming no topic is for every member who takes partner promotions)."""
    return not topic_ids or any(takes_topic(member, t) for t in topic_ids)


def snoozed(member: Member, now: Optional[datetime] = None) -> bool:
    """Whether the member paused every promotion, now."""
    return member.snoozed_until is not None and member.snoozed_until > (now or clock.now())


def frequency_of(member: Member) -> str:
    """``day``, ``week`` or ``month``: the member's choice, else the operator's default."""
    chosen = member.promotion_frequency
    return chosen if chosen in FREQUENCIES else get_settings().promotion_frequency


def window_start(frequency: str, now: datetime) -> datetime:
    """The start of the window a partner promotion sent at ``now`` may have no other in."""
    if frequency == "day":
        return now - timedelta(days=1)
    if frequency == "week":
        return now - timedelta(days=7)
    return add_months(now, -1)


def snooze_end(period: str, now: datetime) -> datetime:
    """When a pause of ``period`` chosen at ``now`` ends (to the second)."""
    now = now.replace(microsecond=0)
    if period == "two_weeks":
        return now + timedelta(days=14)
    return add_months(now, 1 if period == "one_month" else 3)


# --- what the member sees --------------------------------------------------------------------------


def view(member: Member, now: Optional[datetime] = None, catalogue: Optional[list] = None) -> dict:
    """The preferences as the preference centre, the JSON API and the export show them."""
    now = now or clock.now()
    catalogue = topics.list_topics() if catalogue is None else catalogue
    return {
        "topics": [{"id": t.topic_id, "name": t.name, "chosen": takes_topic(member, t.topic_id)}
                   for t in catalogue],
        "frequency": frequency_of(member),
        "frequency_chosen": member.promotion_frequency in FREQUENCIES,
        "default_frequency": get_settings().promotion_frequency,
        "snoozed_until": iso(member.snoozed_until) if snoozed(member, now) else None,
    }


# --- changes -------------------------------------------------------------------------------------


def check_frequency(frequency: Optional[str], field: str = "frequency") -> Optional[str]:
    if frequency is not None and frequency not in FREQUENCIES:
        raise ValidationError("Choose at most one partner promotion a day, a week or a month.",
                              code="invalid_frequency", field=field)
    return frequency


def check_period(period: Optional[str], field: str = "period") -> str:
    if period not in SNOOZE_PERIODS:
        raise ValidationError("Choose a pause of two weeks, one month or three months.",
                              code="invalid_period", field=field)
    return period


def check_topic_choices(choices: Optional[dict], field: str = "topics",
                        catalogue: Optional[list] = None) -> dict:
    """topic id → chosen, every id a declared topic (400 ``unknown_topic`` otherwise);
    ``catalogue``: the topics already read, if they were."""
    choices = dict(choices or {})
    if any(not isinstance(v, bool) for v in choices.values()):
        raise ValidationError("Say true or false for each topic.", field=field)
    topics.require_known(choices, field, catalogue)
    return choices


def topics_off_at_registration(stated: Optional[dict], gpc: bool) -> set:
    """The topics a new member leaves unchosen: those stated false, and with Global Privacy
    Control every topic not stated true (as partner promotions themselves)."""
    catalogue = topics.list_topics()  # one read for the check and the answer
    stated = check_topic_choices(stated, catalogue=catalogue)
    return {t.topic_id for t in catalogue if not stated.get(t.topic_id, not gpc)}


def _topics_off_action(off: set):
    return Member.topics_off.set(off) if off else Member.topics_off.remove()


def change(member_id: str, provenance: Provenance, topic_choices: Optional[dict] = None,
           frequency: Optional[str] = None, now: Optional[datetime] = None,
           catalogue: Optional[list] = None) -> Member:
    """Turn topics on or off and choose the frequency; an event for each actual change.
    ``catalogue``: the topics already read, if they were."""
    topic_choices = check_topic_choices(topic_choices, catalogue=catalogue)
    check_frequency(frequency)

    def plan(member: Member, now: datetime) -> Planned:
        changes, values, actions = {}, {}, []
        off = set(member.topics_off or ())
        for topic_id, chosen in topic_choices.items():
            if takes_topic(member, topic_id) != chosen:
                changes[TOPIC_PREFIX + topic_id] = chosen
                off = off - {topic_id} if chosen else off | {topic_id}
        if changes:
            actions.append(_topics_off_action(off))
        if frequency is not None and frequency != member.promotion_frequency:
            changes[FREQUENCY], values[FREQUENCY] = True, frequency
            actions.append(Member.promotion_frequency.set(frequency))
        return Planned(changes, values, tuple(actions))

    return consent.commit(member_id, plan, provenance, now)


def snooze(member_id: str, period: str, provenance: Provenance,
           now: Optional[datetime] = None, extend_only: bool = False) -> Member:
    """Pause every promotion for ``period`` from now. With ``extend_only`` (a link from an
    e-mail, which anyone holding the mail may follow) a pause already running that ends at most
    a day before the one asked for stays as it is: following the link again and again records
    nothing new (at most one event a day)."""
    check_period(period)

    def plan(member: Member, now: datetime) -> Planned:
        until = snooze_end(period, now)
        if extend_only and snoozed(member, now) and member.snoozed_until >= until - timedelta(days=1):
            return Planned({}, {}, ())
        return Planned({SNOOZE: True}, {SNOOZE: iso(until)}, (Member.snoozed_until.set(until),))

    return consent.commit(member_id, plan, provenance, now)


def end_snooze(member_id: str, provenance: Provenance, now: Optional[datetime] = None) -> Member:
    """End a running pause now (nothing is recorded when none runs)."""
    def plan(member: Member, now: datetime) -> Planned:
        if not snoozed(member, now):
            return Planned({}, {}, ())
        return Planned({SNOOZE: False}, {}, (Member.snoozed_until.remove(),))

    return consent.commit(member_id, plan, provenance, now)
