"""Server-side sessions: the cookie holds a random value, the table only its SHA-256.

A session ends at the first of: its idle timeout, its absolute lifetime, logout, a password
change or reset, or the member's deletion. Checking a session costs one read; ``last_seen_at``
is refreshed (one write) at most every ``TOUCH_INTERVAL`` to keep the idle window sliding.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple, Optional

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.members.models import Session
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import equal, new_token, sha256_hex
from chalicelib.platform.dynamo import storage_errors

IDLE_TIMEOUT = timedelta(hours=1)
ABSOLUTE_LIFETIME = timedelta(hours=12)
TOUCH_INTERVAL = timedelta(minutes=5)
MAX_USER_AGENT = 200


class ActiveSession(NamedTuple):
    member_id: str
    session_hash: str
    created_at: datetime
    absolute_expires_at: datetime
    gpc_seen: bool = False


def create(member_id: str, user_agent: str | None = None,
           now: datetime | None = None) -> tuple[str, int]:
    """A new session; returns the cookie value (shown once) and its lifetime in seconds."""
    now = now or clock.now()
    value = new_token(32)
    absolute = now + ABSOLUTE_LIFETIME
    session = Session(
        sha256_hex(value), member_id=member_id, created_at=now, last_seen_at=now,
        absolute_expires_at=absolute, expires_at=min(absolute, now + IDLE_TIMEOUT),
        user_agent=(user_agent or "")[:MAX_USER_AGENT] or None)
    with storage_errors():
        session.save(condition=Session.session_hash.does_not_exist())
    return value, int(ABSOLUTE_LIFETIME.total_seconds())


def lookup(cookie_value: str | None, now: datetime | None = None) -> Optional[ActiveSession]:
    """The live session for a cookie value, or None (expired items count as absent)."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    now = now or clock.now()
    with storage_errors():
        try:
            session = Session.get(sha256_hex(cookie_value))
        except Session.DoesNotExist:
            return None
    if now >= session.absolute_expires_at or now >= session.last_seen_at + IDLE_TIMEOUT:
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        _touch(session, now)
    return ActiveSession(session.member_id, session.session_hash, session.created_at,
                         session.absolute_expires_at, bool(session.gpc_seen))


def mark_gpc_seen(session_hash: str) -> None:
    """This session's Global Privacy Control has been applied: later requests skip it."""
    try:
        with storage_errors():
            Session(session_hash).update(actions=[Session.gpc_seen.set(True)],
                                         condition=Session.session_hash.exists())
    except UpdateError:
        pass  # the session ended meanwhile


def _touch(session: Session, now: datetime) -> None:
    try:
        with storage_errors():
            session.update(
                actions=[Session.last_seen_at.set(now),
                         Session.expires_at.set(min(session.absolute_expires_at, now + IDLE_TIMEOUT))],
                condition=Session.session_hash.exists())
    except UpdateError:
        pass  # revoked between the read and the touch: the next request will see it gone


def revoke(cookie_value: str | None) -> None:
    if cookie_value and len(cookie_value) <= 128:
        with storage_errors():
            Session(sha256_hex(cookie_value)).delete()


def revoke_all(member_id: str) -> int:
    """Delete every session of a member (logout everywhere); returns how many."""
    with storage_errors():
        hashes = [s.session_hash for s in Session.by_member.query(member_id)]
        with Session.batch_write() as batch:
            for session_hash in hashes:
                batch.delete(Session(session_hash))
    return len(hashes)


def public_id(session_hash: str) -> str:
    """How a member names one of their sessions: derived one way from the stored hash, so it
    reveals neither the cookie value nor the hash, and needs nothing more stored."""
    return sha256_hex("session-id:" + session_hash)[:24]


def _live(member_id: str, now: datetime) -> list:
    with storage_errors():
        found = list(Session.by_member.query(member_id))
    return [s for s in found
            if now < s.absolute_expires_at and now < s.last_seen_at + IDLE_TIMEOUT]


def active_sessions(member_id: str, current_hash: str | None,
                    now: datetime | None = None) -> list:
    """The member's live sessions, newest first: id, whether it is this request's own, when it
    began and was last seen, and a device summary from its user agent."""
    from chalicelib.members.devices import device_summary

    now = now or clock.now()
    live = sorted(_live(member_id, now), key=lambda s: s.created_at, reverse=True)
    return [{"id": public_id(s.session_hash), "current": s.session_hash == current_hash,
             "created_at": iso(s.created_at), "last_seen_at": iso(s.last_seen_at),
             "device": device_summary(s.user_agent)} for s in live]


def revoke_by_id(member_id: str, session_id: str, now: datetime | None = None) -> bool:
    """End one of the member's own sessions by its id; False when it has no such session
    (another member's session id is no such session)."""
    if not isinstance(session_id, str) or len(session_id) != 24:
        return False
    for session in _live(member_id, now or clock.now()):
        if equal(public_id(session.session_hash), session_id):
            try:
                with storage_errors():
                    Session(session.session_hash).delete(
                        condition=Session.member_id == member_id)
            except DeleteError:
                return False  # ended meanwhile
            return True
    return False


def revoke_others(member_id: str, keep_hash: str) -> int:
    """End every session of the member but ``keep_hash``; returns how many ended."""
    with storage_errors():
        hashes = [s.session_hash for s in Session.by_member.query(member_id)
                  if s.session_hash != keep_hash]
        with Session.batch_write() as batch:
            for session_hash in hashes:
                batch.delete(Session(session_hash))
    return len(hashes)


def list_for_member(member_id: str, now: datetime | None = None) -> list:
    """Metadata of a member's live sessions (never the hash), for the export."""
    now = now or clock.now()
    with storage_errors():
        sessions = list(Session.by_member.query(member_id))
    return [{"created_at": iso(s.created_at), "last_seen_at": iso(s.last_seen_at),
             "expires_at": iso(min(s.absolute_expires_at, s.last_seen_at + IDLE_TIMEOUT)),
             "user_agent": s.user_agent}
            for s in sessions
            if now < s.absolute_expires_at and now < s.last_seen_at + IDLE_TIMEOUT]
