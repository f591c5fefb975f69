"""Promotion preferences without servers: the windows and pauses in time, topics and their
ids, and each change as a chained event that ``verify_chain`` holds the state to."""
import uuid
from datetime import datetime, timezone

import pytest

from chalicelib import members
from chalicelib.members import consent, preferences, topics
from chalicelib.members.consent import Provenance
from chalicelib.members.models import ConsentEvent, Member
from chalicelib.platform.clock import add_months
from chalicelib.platform.errors import ConflictError, UnavailableError, ValidationError

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
CENTRE = Provenance("preference_center", "/account")


def new_member() -> str:
    return members.register_confirmed(members.Registration(
        email=f"prefs-{uuid.uuid4()}@example.org", password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": True}), Provenance("registration"))


@pytest.mark.parametrize("moment, months, expected", [
    (datetime(2027, 1, 31, 8, tzinfo=timezone.utc), 1, datetime(2027, 2, 28, 8, tzinfo=timezone.utc)),
    (datetime(2028, 1, 31, tzinfo=timezone.utc), 1, datetime(2028, 2, 29, tzinfo=timezone.utc)),
    (datetime(2026, 11, 30, tzinfo=timezone.utc), 3, datetime(2027, 2, 28, tzinfo=timezone.utc)),
    (datetime(2027, 3, 31, tzinfo=timezone.utc), -1, datetime(2027, 2, 28, tzinfo=timezone.utc)),
    (datetime(2027, 1, 15, tzinfo=timezone.utc), -1, datetime(2026, 12, 15, tzinfo=timezone.utc)),
])
def test_calendar_months_end_on_the_last_day_of_a_shorter_month(moment, months, expected):
    assert add_months(moment, months) == expected


def test_windows_and_pauses_are_measured_from_now():
    now = datetime(2027, 3, 31, 12, 30, 15, 999, tzinfo=timezone.utc)
    assert preferences.window_start("day", now) == datetime(2027, 3, 30, 12, 30, 15, 999,
                                                             tzinfo=timezone.utc)
    assert preferences.window_start("week", now).day == 24
    assert preferences.window_start("month", now) == datetime(2027, 2, 28, 12, 30, 15, 999,
                                                               tzinfo=timezone.utc)
    assert preferences.snooze_end("two_weeks", now) == datetime(2027, 4, 14, 12, 30, 15,
                                                                 tzinfo=timezone.utc)
    assert preferences.snooze_end("one_month", now).date().isoformat() == "2027-04-30"
    assert preferences.snooze_end("three_months", now).date().isoformat() == "2027-06-30"


@pytest.mark.parametrize("name, slug", [
    ("Office supplies", "office-supplies"), ("  Büro & Café  ", "buro-cafe"),
    ("Software/SaaS", "software-saas"), ("事務用品", ""), ("x" * 40, "x" * 40),
])
def test_a_topic_id_is_a_slug_of_its_name(name, slug):
    assert topics.slug(name) == slug


def test_registration_and_a_change_read_the_topic_list_once(moto_world, monkeypatch):
    # Two topics of the shared world (another test may have filled the list).
    while len(topics.list_topics()) < 2:
        topics.add_topic(f"Unit paper {uuid.uuid4().hex[:6]}")
    first, second = topics.list_topics()[:2]
    reads = []
    real = topics.Topic.query
    monkeypatch.setattr(topics.Topic, "query", lambda *a, **k: reads.append(1) or real(*a, **k))
    off = preferences.topics_off_at_registration({first.topic_id: False}, gpc=False)
    assert first.topic_id in off and second.topic_id not in off and len(reads) == 1
    with pytest.raises(ValidationError):
        preferences.topics_off_at_registration({"no-such-topic": True}, gpc=False)
    reads.clear()
    catalogue = topics.list_topics()
    member = preferences.change(new_member(), CENTRE, topic_choices={second.topic_id: False},
                                catalogue=catalogue)
    preferences.view(member, catalogue=catalogue)
    assert len(reads) == 1                        # the caller's own read only
    reads.clear()
    preferences.change(new_member(), CENTRE, frequency="month")
    assert reads == []                            # no topics named: nothing to check


def test_topics_are_refused_when_they_exist_in_any_case_or_the_list_is_full(moto_world, says):
    added = topics.add_topic(f"Unit printers {uuid.uuid4().hex[:6]}")
    with pytest.raises(ConflictError) as refused:
        topics.add_topic(added.name.lower())
    assert refused.value.code == "topic_exists" and says(refused.value, "exists already")
    without_letters = topics.add_topic(f"事務用品 {uuid.uuid4().hex[:2]}"[:-2] + "品")
    assert without_letters.topic_id.startswith("topic-")
    while len(topics.list_topics()) < topics.MAX_TOPICS:
        topics.add_topic(f"Unit filler {uuid.uuid4().hex[:8]}")
    with pytest.raises(ConflictError) as full:
        topics.add_topic("One too many")
    assert full.value.code == "too_many_topics"


def test_each_change_is_one_chained_event_and_the_state_follows(moto_world):
    known = topics.list_topics() or [topics.add_topic(f"Unit desks {uuid.uuid4().hex[:6]}")]
    topic = known[0].topic_id
    member_id = new_member()
    preferences.change(member_id, CENTRE, topic_choices={topic: False}, frequency="day")
    preferences.change(member_id, CENTRE, topic_choices={topic: False}, frequency="day")
    preferences.snooze(member_id, "two_weeks", CENTRE)
    events = consent.history(member_id)[2:]
    assert [(e.purpose, e.granted, e.value) for e in events] == [
        ("frequency", True, "day"), (f"topic:{topic}", False, None),
        ("snooze", True, "2026-12-15T09:00:00Z")]
    member = Member.get(member_id)
    assert member.topics_off == {topic} and member.promotion_frequency == "day"
    assert not members.eligible(member, "offers")
    assert members.eligible(member, "offers", now=datetime(2026, 12, 15, 9, 0, 1,
                                                            tzinfo=timezone.utc))
    assert consent.verify_chain(member_id) == []

    # A stored value is part of the chain, and the state must be what the history says.
    tamper = ConsentEvent.get(member_id, 3)
    tamper.value = "month"
    tamper.save()
    assert f"{member_id}: event 3 does not match the chain" in consent.verify_chain(member_id)
    other = new_member()
    preferences.change(other, CENTRE, frequency="week")
    Member.get(other).update(actions=[Member.promotion_frequency.set("month"),
                                      Member.topics_off.set({topic})])
    assert consent.verify_chain(other) == [
        f"{other}: the topics turned off differ from their history",
        f"{other}: the frequency differs from its history"]
    paused = new_member()
    preferences.snooze(paused, "two_weeks", CENTRE)
    Member.get(paused).update(actions=[Member.snoozed_until.set(datetime(2027, 6, 1,
                                                                         tzinfo=timezone.utc))])
    assert consent.verify_chain(paused) == [
        f"{paused}: the pause of promotions differs from its history"]


def test_a_link_never_shortens_a_pause_but_the_member_may(moto_world):
    member_id = new_member()
    long = preferences.snooze(member_id, "three_months", CENTRE).snoozed_until
    link = Provenance("snooze_link", "/snooze")
    assert preferences.snooze(member_id, "two_weeks", link, extend_only=True).snoozed_until == long
    assert preferences.snooze(member_id, "two_weeks", CENTRE).snoozed_until < long
    assert preferences.end_snooze(member_id, CENTRE).snoozed_until is None
    assert [e.granted for e in consent.history(member_id) if e.purpose == "snooze"] == [
        True, True, False]


@pytest.mark.parametrize("call, field", [
    (lambda m: preferences.change(m, CENTRE, topic_choices={"no-such-topic": True}), "topics"),
    (lambda m: preferences.change(m, CENTRE, frequency="hourly"), "frequency"),
    (lambda m: preferences.snooze(m, "forever", CENTRE), "period"),
])
def test_bad_choices_are_refused_and_record_nothing(moto_world, call, field):
    member_id = new_member()
    with pytest.raises(ValidationError) as refused:
        call(member_id)
    assert refused.value.field == field
    assert len(consent.history(member_id)) == 2


# --- recording a preference while other changes race it --------------------------------------


def pauses(attempts: int) -> list:
    """The bounds of each pause between ``attempts`` tries of a chained change: jittered between
    half and all of 5 ms doubling per retry, capped at 0.1 s (a request under contention gives
    up within about a second)."""
    return [(0.5 * min(0.1, 0.005 * 2 ** n), min(0.1, 0.005 * 2 ** n))
            for n in range(attempts - 1)]


def test_a_consent_change_made_meanwhile_is_kept_and_the_preference_chained_after_it(
        moto_world, monkeypatch):
    member_id = new_member()
    original = consent.chained_change
    raced = []

    def changed_meanwhile(member, changes, provenance, now, values=None):
        if not raced:  # another request withdraws offers between this one's read and write
            raced.append(True)
            consent.change(member_id, {"offers": False}, Provenance("bounce"))
        return original(member, changes, provenance, now, values)

    monkeypatch.setattr(consent, "chained_change", changed_meanwhile)
    stored = preferences.change(member_id, CENTRE, frequency="month")
    assert stored.promotion_frequency == "month" and not consent.is_granted(stored, "offers")
    assert [(e.purpose, e.source) for e in consent.history(member_id)[-2:]] == [
        ("offers", "bounce"), ("frequency", "preference_center")]
    assert consent.verify_chain(member_id) == []
    assert len(moto_world.clock.slept) == 1
    low, high = pauses(2)[0]
    assert low <= moto_world.clock.slept[0] <= high


def test_endless_contention_refuses_a_preference_retryably_within_about_a_second(
        moto_world, monkeypatch, says):
    member_id = new_member()
    original = consent.chained_change
    grants = iter([False, True] * 20)

    def always_racing(member, changes, provenance, now, values=None):
        monkeypatch.setattr(consent, "chained_change", original)
        try:
            consent.change(member_id, {"partner_promotions": next(grants)}, Provenance("bounce"))
        finally:
            monkeypatch.setattr(consent, "chained_change", always_racing)
        return original(member, changes, provenance, now, values)

    before = len(consent.history(member_id))
    monkeypatch.setattr(consent, "chained_change", always_racing)
    with pytest.raises(UnavailableError) as refused:
        preferences.change(member_id, CENTRE, frequency="day")
    assert refused.value.retry_after == 1
    assert says(refused.value, "Too many changes at the same time. Try again in a moment.")
    assert Member.get(member_id).promotion_frequency != "day"
    assert len(consent.history(member_id)) == before + consent.MAX_ATTEMPTS  # the racers' only
    assert consent.verify_chain(member_id) == []
    slept = moto_world.clock.slept
    assert len(slept) == consent.MAX_ATTEMPTS - 1
    assert all(low <= s <= high for s, (low, high) in zip(slept, pauses(consent.MAX_ATTEMPTS)))
    assert sum(slept) <= 1.1


def test_a_member_erased_meanwhile_is_not_brought_back_by_a_preference(moto_world, monkeypatch):
    from chalicelib.platform.errors import NotFoundError

    member_id = new_member()
    original = consent.chained_change

    def erased_meanwhile(member, changes, provenance, now, values=None):
        planned = original(member, changes, provenance, now, values)
        members.erase_member(member_id)
        return planned

    monkeypatch.setattr(consent, "chained_change", erased_meanwhile)
    with pytest.raises(NotFoundError):
        preferences.snooze(member_id, "one_month", CENTRE)
    assert list(Member.query(member_id)) == []
    assert list(ConsentEvent.query(member_id)) == []


def test_a_frequency_event_shows_the_frequency_chosen(moto_world):
    member_id = new_member()
    preferences.change(member_id, CENTRE, frequency="month")
    [event] = [e for e in consent.history(member_id) if e.purpose == "frequency"]
    assert consent.event_json(event)["value"] == "month"
    assert "value" not in consent.event_json(consent.history(member_id)[0])


@pytest.mark.parametrize("purpose, preference", [
    ("topic:desks", True), ("frequency", True), ("snooze", True), ("topic:", False),
    ("offers", False), ("partner_promotions", False), ("topics:desks", False),
])
def test_topics_frequency_and_pauses_are_preferences_and_consents_are_not(purpose, preference):
    assert consent.is_preference(purpose) is preference
