"""Sessions without servers: how long a sign-in lasts, what ends it, what the export shows,
and what a member sees and ends in the list of their sessions."""
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.members import sessions
from chalicelib.members.models import Session
from chalicelib.platform.crypto import sha256_hex

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
MINUTE = timedelta(minutes=1)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def new_member_id() -> str:
    return str(uuid.uuid4())


def test_a_new_session_lasts_twelve_hours_and_stores_only_the_hash_of_its_cookie(moto_world):
    member_id = new_member_id()
    value, max_age = sessions.create(member_id, "Firefox")
    assert max_age == 12 * 3600
    assert len(value) >= 43  # 32 random bytes, URL-safe
    stored = Session.get(sha256_hex(value))
    assert stored.member_id == member_id and stored.user_agent == "Firefox"
    assert stored.created_at == stored.last_seen_at == START
    assert stored.absolute_expires_at == START + timedelta(hours=12)
    assert stored.expires_at == START + timedelta(hours=1)  # DynamoDB's TTL: the idle limit
    assert sessions.lookup(value) == sessions.ActiveSession(
        member_id, sha256_hex(value), START, START + timedelta(hours=12), gpc_seen=False)


def test_each_session_gets_its_own_cookie_value(moto_world):
    member_id = new_member_id()
    assert sessions.create(member_id)[0] != sessions.create(member_id)[0]


def test_the_user_agent_is_kept_to_200_characters_and_absent_when_not_sent(moto_world):
    long_value, _ = sessions.create(new_member_id(), "A" * 300)
    assert Session.get(sha256_hex(long_value)).user_agent == "A" * 200
    none_value, _ = sessions.create(new_member_id(), "")
    assert Session.get(sha256_hex(none_value)).user_agent is None


def test_a_session_unused_for_an_hour_has_ended(moto_world):
    value, _ = sessions.create(new_member_id())
    assert sessions.lookup(value, now=START + 60 * MINUTE - timedelta(seconds=1)) is not None
    other, _ = sessions.create(new_member_id())
    assert sessions.lookup(other, now=START + 60 * MINUTE) is None


def test_use_keeps_a_session_alive_until_twelve_hours_have_passed(moto_world):
    value, _ = sessions.create(new_member_id())
    moment = START
    while moment + 50 * MINUTE < START + timedelta(hours=12):
        moment += 50 * MINUTE
        assert sessions.lookup(value, now=moment) is not None, moment
    assert sessions.lookup(value, now=START + timedelta(hours=12)) is None
    assert sessions.lookup(value, now=START + timedelta(hours=12) - timedelta(seconds=1))


def test_use_is_written_down_at_most_every_five_minutes(moto_world):
    value, _ = sessions.create(new_member_id())
    session_hash = sha256_hex(value)
    sessions.lookup(value, now=START + 5 * MINUTE - timedelta(seconds=1))
    assert Session.get(session_hash).last_seen_at == START
    sessions.lookup(value, now=START + 5 * MINUTE)
    stored = Session.get(session_hash)
    assert stored.last_seen_at == START + 5 * MINUTE
    assert stored.expires_at == START + 65 * MINUTE
    # A session's idle limit never reaches past its absolute end.
    late = START + timedelta(hours=11, minutes=30)
    for step in range(0, 11 * 60 + 31, 50):
        sessions.lookup(value, now=START + step * MINUTE)
    sessions.lookup(value, now=late)
    assert Session.get(session_hash).expires_at == START + timedelta(hours=12)


def test_unknown_empty_and_overlong_cookies_are_no_session(moto_world):
    value, _ = sessions.create(new_member_id())
    assert sessions.lookup(None) is None
    assert sessions.lookup("") is None
    assert sessions.lookup("x" * 43) is None
    assert sessions.lookup(value + "x" * (129 - len(value))) is None


def test_logout_ends_that_session_only(moto_world):
    member_id = new_member_id()
    this, _ = sessions.create(member_id)
    other, _ = sessions.create(member_id)
    sessions.revoke(this)
    assert sessions.lookup(this) is None
    assert sessions.lookup(other) is not None
    sessions.revoke(None)
    sessions.revoke("x" * 129)  # nothing to end, nothing fails


def test_a_session_ended_while_in_use_is_not_brought_back(moto_world):
    value, _ = sessions.create(new_member_id())
    session = Session.get(sha256_hex(value))
    sessions.revoke(value)
    sessions._touch(session, START + 10 * MINUTE)
    assert sessions.lookup(value, now=START + 10 * MINUTE) is None
    assert Session.count(sha256_hex(value)) == 0  # no item: the touch did not recreate it


def test_logout_everywhere_ends_every_session_of_the_member_and_no_other(moto_world):
    member_id, neighbour = new_member_id(), new_member_id()
    values = [sessions.create(member_id)[0] for _ in range(3)]
    kept, _ = sessions.create(neighbour)
    assert sessions.revoke_all(member_id) == 3
    assert all(sessions.lookup(v) is None for v in values)
    assert sessions.lookup(kept) is not None
    assert sessions.revoke_all(member_id) == 0


def test_the_export_lists_live_sessions_without_their_hash(moto_world):
    member_id = new_member_id()
    sessions.create(member_id, "Phone", now=START - timedelta(hours=2))   # idle: ended
    sessions.create(member_id, "Tablet", now=START - timedelta(hours=13))  # too old: ended
    sessions.create(member_id, "Laptop", now=START - 30 * MINUTE)
    listed = sessions.list_for_member(member_id)
    assert listed == [{"created_at": "2026-12-01T08:30:00Z", "last_seen_at": "2026-12-01T08:30:00Z",
                       "expires_at": "2026-12-01T09:30:00Z", "user_agent": "Laptop"}]
    assert sessions.list_for_member(member_id, now=START + 30 * MINUTE) == []
    assert sessions.list_for_member(member_id, now=START + 30 * MINUTE - timedelta(seconds=1))


def test_the_export_shows_the_absolute_end_when_it_comes_before_the_idle_one(moto_world):
    member_id = new_member_id()
    value, _ = sessions.create(member_id, now=START - timedelta(hours=11, minutes=30))
    sessions.lookup(value, now=START - timedelta(hours=11))
    for minutes in range(-11 * 60 + 50, 1, 50):
        sessions.lookup(value, now=START + minutes * MINUTE)
    [listed] = sessions.list_for_member(member_id)
    assert listed["expires_at"] == "2026-12-01T09:30:00Z"
    assert sessions.list_for_member(member_id, now=START + 30 * MINUTE - timedelta(seconds=1))
    assert sessions.list_for_member(member_id, now=START + 30 * MINUTE) == []


# --- the member's own list of sessions -------------------------------------------------------


def session_id(cookie_value: str) -> str:
    return sessions.public_id(sha256_hex(cookie_value))


def test_a_session_s_id_is_neither_its_cookie_nor_its_hash_and_stays_the_same(moto_world):
    member_id = new_member_id()
    value, _ = sessions.create(member_id, FIREFOX_WINDOWS)
    other, _ = sessions.create(member_id, FIREFOX_WINDOWS)
    shown = session_id(value)
    assert re.fullmatch(r"[0-9a-f]{24}", shown)
    assert shown not in value and shown not in sha256_hex(value)
    assert shown != session_id(other)
    listed = sessions.active_sessions(member_id, sha256_hex(value))
    assert sorted(s["id"] for s in listed) == sorted([shown, session_id(other)])
    moto_world.clock.advance(10 * 60)
    sessions.lookup(value)  # the session is used (and its last use written down)
    assert session_id(value) == shown
    assert shown in {s["id"] for s in sessions.active_sessions(member_id, None)}


def test_a_member_sees_their_live_sessions_newest_first_with_this_one_marked(moto_world):
    member_id = new_member_id()
    sessions.create(member_id, FIREFOX_WINDOWS)                    # 09:00, idle until 10:00
    moto_world.clock.advance(30 * 60)
    phone, _ = sessions.create(member_id, SAFARI_IPHONE)           # 09:30
    moto_world.clock.advance(60)
    this, _ = sessions.create(member_id)                           # 09:31, no user agent
    sessions.create(new_member_id(), FIREFOX_WINDOWS)              # another member's
    moto_world.clock.advance(29 * 60)                              # 10:00: the first has ended
    sessions.lookup(phone)
    assert sessions.active_sessions(member_id, sha256_hex(this)) == [
        {"id": session_id(this), "current": True, "created_at": "2026-12-01T09:31:00Z",
         "last_seen_at": "2026-12-01T09:31:00Z", "device": "Unknown device"},
        {"id": session_id(phone), "current": False, "created_at": "2026-12-01T09:30:00Z",
         "last_seen_at": "2026-12-01T10:00:00Z", "device": "Safari on iPhone"}]
    assert [s["current"] for s in sessions.active_sessions(member_id, sha256_hex(phone))] == [
        False, True]
    assert not any(s["current"] for s in sessions.active_sessions(member_id, None))
    assert sessions.active_sessions(new_member_id(), sha256_hex(this)) == []


def test_a_session_past_its_twelve_hours_is_not_listed_even_in_use(moto_world):
    member_id = new_member_id()
    value, _ = sessions.create(member_id)
    for _ in range(14):  # used every 50 minutes: never idle for an hour
        moto_world.clock.advance(50 * 60)
        assert sessions.lookup(value) is not None
    assert len(sessions.active_sessions(member_id, None)) == 1
    moto_world.clock.advance(20 * 60)  # 12 hours after it began
    assert sessions.active_sessions(member_id, None) == []
    assert sessions.revoke_by_id(member_id, session_id(value)) is False


def test_a_member_ends_one_of_their_own_sessions_by_its_id(moto_world):
    member_id = new_member_id()
    this, _ = sessions.create(member_id)
    other, _ = sessions.create(member_id)
    assert sessions.revoke_by_id(member_id, session_id(other)) is True
    assert sessions.lookup(other) is None
    assert sessions.lookup(this) is not None
    assert sessions.revoke_by_id(member_id, session_id(other)) is False  # already ended
    assert [s["id"] for s in sessions.active_sessions(member_id, None)] == [session_id(this)]


def test_another_member_s_session_id_is_no_session_and_nothing_ends(moto_world):
    member_id, stranger = new_member_id(), new_member_id()
    mine, _ = sessions.create(member_id)
    theirs, _ = sessions.create(stranger)
    assert sessions.revoke_by_id(member_id, session_id(theirs)) is False
    assert sessions.lookup(theirs) is not None and sessions.lookup(mine) is not None


@pytest.mark.parametrize("malformed", [
    None, "", 123, "0" * 24, "id", "own id, one character more", "own id, one character less",
    "own id in capitals", "the cookie", "the hash"])
def test_malformed_session_ids_end_nothing(moto_world, malformed):
    member_id = new_member_id()
    value, _ = sessions.create(member_id)
    own = session_id(value)
    malformed = {"own id, one character more": own + "0", "own id, one character less": own[:-1],
                 "own id in capitals": own.upper(), "the cookie": value,
                 "the hash": sha256_hex(value)}.get(malformed, malformed)
    assert sessions.revoke_by_id(member_id, malformed) is False
    assert sessions.lookup(value) is not None


def test_a_session_ended_while_being_ended_by_id_is_reported_as_not_ended(moto_world, monkeypatch):
    member_id = new_member_id()
    value, _ = sessions.create(member_id)
    listed = sessions._live

    def ended_meanwhile(*args):
        found = listed(*args)
        sessions.revoke(value)  # a logout in another tab, between the read and the delete
        return found

    monkeypatch.setattr(sessions, "_live", ended_meanwhile)
    assert sessions.revoke_by_id(member_id, session_id(value)) is False
    assert Session.count(sha256_hex(value)) == 0  # and the delete did not write an item


def test_ending_the_other_sessions_keeps_only_the_given_one(moto_world):
    member_id, neighbour = new_member_id(), new_member_id()
    this, _ = sessions.create(member_id)
    others = [sessions.create(member_id)[0] for _ in range(2)]
    kept, _ = sessions.create(neighbour)
    assert sessions.revoke_others(member_id, sha256_hex(this)) == 2
    assert all(sessions.lookup(v) is None for v in others)
    assert sessions.lookup(this) is not None and sessions.lookup(kept) is not None
    assert sessions.revoke_others(member_id, sha256_hex(this)) == 0
    assert [s["id"] for s in sessions.active_sessions(member_id, None)] == [session_id(this)]


def test_a_session_remembers_that_its_privacy_signal_was_applied(moto_world):
    member_id = new_member_id()
    value, _ = sessions.create(member_id)
    other, _ = sessions.create(member_id)
    assert sessions.lookup(value).gpc_seen is False
    sessions.mark_gpc_seen(sha256_hex(value))
    assert sessions.lookup(value).gpc_seen is True
    assert sessions.lookup(other).gpc_seen is False
    sessions.revoke(value)
    sessions.mark_gpc_seen(sha256_hex(value))  # ended meanwhile: nothing fails
    assert Session.count(sha256_hex(value)) == 0  # and it is not brought back
