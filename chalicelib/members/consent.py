"""Consent as evidence: an append-only, hash-chained history and the state derived from it.

Every grant or withdrawal is a ``ConsentEvent`` (purpose, granted, time, source, policy
version, the page and the request's origin). The member item holds the current state, the
last sequence number and the last hash; both are written in one DynamoDB transaction whose
condition is the sequence number read before, so concurrent changes either serialise or
retry: the state always equals the last event of each purpose, and the sequence has no gaps.

Each event's hash is HMAC-SHA256 (the stage's signing key) over the previous hash and the
event's fields, so editing, removing or reordering an event breaks the chain, and nobody
without the key can forge a consistent one. ``verify_chain`` is the operator's check.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import NamedTuple, Optional

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.members import unlink_requests
from chalicelib.members.models import ConsentEvent, ConsentMap, ConsentState, Member
from chalicelib.platform import clock, dynamo
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import sign
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import NotFoundError, UnavailableError
from chalicelib.platform.policy import FIRST_VERSION, changes_since, policy_version
from chalicelib.platform.vocabulary import (
    FREQUENCY,
    PARTNER_PROMOTIONS,
    PURPOSES,
    SNOOZE,
    SOURCES,
    TOPIC_PREFIX,
)
from chalicelib.statistics import counters

AUDIENCE_SHARDS = 4
MAX_ATTEMPTS = 12
_CHAIN = "consent-chain"


class Provenance(NamedTuple):
    """How a consent was given: the source, and the page and origin of the request."""

    source: str
    page: Optional[str] = None
    origin: Optional[str] = None


def genesis_hash(member_id: str) -> str:
    return sign(_CHAIN, f"genesis\x00{member_id}")


def _canonical(event: ConsentEvent) -> str:
    fields = {
        "member_id": event.member_id, "seq": int(event.seq), "purpose": event.purpose,
        "granted": bool(event.granted), "at": event.at.isoformat(), "source": event.source,
        "policy_version": event.policy_version, "page": event.page, "origin": event.origin,
    }
    if event.value is not None:  # only preferences have one: older events hash as they did
        fields["value"] = event.value
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _event_hash(prev_hash: str, event: ConsentEvent) -> str:
    return sign(_CHAIN, f"{prev_hash}\x00{_canonical(event)}")


def is_preference(purpose: str) -> bool:
    """A promotion preference recorded beside the consents: a topic, the frequency, a pause."""
    return purpose in (FREQUENCY, SNOOZE) or (
        purpose.startswith(TOPIC_PREFIX) and len(purpose) > len(TOPIC_PREFIX))


def new_events(member_id: str, start_seq: int, prev_hash: str, changes: dict,
               provenance: Provenance, now: datetime, values: dict | None = None) -> list:
    """Chained events for ``changes`` (purpose → granted), numbered from ``start_seq + 1``:
    the consents first, then the preferences by name, each with its value from ``values``."""
    if provenance.source not in SOURCES:
        raise ValueError(f"unknown consent source {provenance.source!r}")
    others = sorted(p for p in changes if p not in PURPOSES)
    if not all(is_preference(p) for p in others):
        raise ValueError(f"unknown consent purposes {others}")
    events, seq, head = [], start_seq, prev_hash
    version = policy_version()
    for purpose in (*PURPOSES, *others):
        if purpose not in changes:
            continue
        seq += 1
        event = ConsentEvent(member_id, seq, purpose=purpose, granted=bool(changes[purpose]),
                             at=now, source=provenance.source, policy_version=version,
                             page=(provenance.page or None) and provenance.page[:200],
                             origin=(provenance.origin or None) and provenance.origin[:200],
                             prev_hash=head, value=(values or {}).get(purpose))
        event.event_hash = head = _event_hash(head, event)
        events.append(event)
    return events


def state_after(consents: ConsentMap | None, events: list) -> ConsentMap:
    """The consent map once ``events`` are applied (the last event of a purpose wins)."""
    current = {p: getattr(consents, p, None) if consents else None for p in PURPOSES}
    for event in events:
        if event.purpose not in current:
            continue  # a preference: its state is the member's own attribute
        current[event.purpose] = ConsentState(granted=event.granted, updated_at=event.at,
                                              policy_version=event.policy_version)
    return ConsentMap(**{p: s for p, s in current.items() if s is not None})


def audience_shard(member_id: str) -> str:
    return str(int(hashlib.sha256(member_id.encode()).hexdigest()[:8], 16) % AUDIENCE_SHARDS)


_AUDIENCE = (("offers", "aud_offers"), ("partner_promotions", "aud_partner_promotions"))


def audience_values(member_id: str, consents: ConsentMap, verified: bool,
                    suppressed: bool) -> dict:
    """Attribute → value of the sparse audience attributes (None: the member is not in it)."""
    values = {}
    for purpose, attribute in _AUDIENCE:
        state = getattr(consents, purpose, None)
        eligible = verified and not suppressed and state is not None and state.granted
        values[attribute] = audience_shard(member_id) if eligible else None
    return values


def audience_actions(member_id: str, consents: ConsentMap, verified: bool,
                     suppressed: bool) -> list:
    """Set or remove the sparse audience attributes so the indexes hold exactly the eligible."""
    return [getattr(Member, name).set(value) if value is not None else getattr(Member, name).remove()
            for name, value in audience_values(member_id, consents, verified, suppressed).items()]


def is_granted(member: Member, purpose: str) -> bool:
    state = getattr(member.consents, purpose, None) if member.consents else None
    return bool(state and state.granted)


def chained_change(member: Member, changes: dict, provenance: Provenance,
                   now: datetime, values: dict | None = None) -> tuple:
    """(events, new consent map, member update actions) for ``changes``; the caller writes
    them in one transaction conditioned on the member's ``consent_seq`` as read."""
    events = new_events(member.member_id, int(member.consent_seq),
                        member.consent_head or genesis_hash(member.member_id), changes,
                        provenance, now, values)
    consents = state_after(member.consents, events)
    actions = [Member.consents.set(consents)]
    if events:
        actions += [Member.consent_seq.set(int(events[-1].seq)),
                    Member.consent_head.set(events[-1].event_hash)]
    return events, consents, actions


def change(member_id: str, wanted: dict, provenance: Provenance,
           now: datetime | None = None, once=None, restate: bool = False,
           extra_actions: tuple = ()) -> Member | None:
    """Apply purpose → granted; records an event per actual change. Safe under concurrency.

    With ``once`` (a date attribute of the member), the change is made only if that attribute
    is not set yet, and sets it: None when it was already set. With ``restate``, every
    purpose in ``wanted`` gets an event even when unchanged (a choice stated again, e.g.
    under a new policy version); ``extra_actions`` are written with the change."""
    unknown = set(wanted) - set(PURPOSES)
    if unknown:
        raise ValueError(f"unknown consent purposes {sorted(unknown)}")
    for _ in dynamo.retries(MAX_ATTEMPTS, base=0.005, cap=0.1):
        with storage_errors():
            try:
                member = Member.get(member_id, consistent_read=True)
            except Member.DoesNotExist:
                raise NotFoundError("There is no such account. Log in again.") from None
        if once is not None and getattr(member, once.attr_name) is not None:
            return None
        changes = {p: g for p, g in wanted.items() if restate or is_granted(member, p) != g
                   or getattr(member.consents, p, None) is None}
        if not changes:
            if once is not None:
                _mark_once(member, once, now or clock.now())
            return member
        events, consents, actions = chained_change(member, changes, provenance,
                                                   now or clock.now())
        # Withdrawn partner promotions: the partners the member was referred to are to be told
        # (partners' notices), asked for in this very transaction so no crash loses it.
        unlink = (unlink_requests.kind_for(provenance.source)
                  if is_granted(member, PARTNER_PROMOTIONS)
                  and PARTNER_PROMOTIONS in changes and not changes[PARTNER_PROMOTIONS]
                  else None)
        condition = Member.consent_seq == int(member.consent_seq)
        actions.extend(extra_actions)
        if once is not None:
            actions.append(once.set(events[-1].at))
            condition &= once.does_not_exist()
        try:
            with transaction() as tx:
                tx.update(member, actions=[
                    *actions,
                    *audience_actions(member_id, consents, member.email_verified, member.suppressed),
                ], condition=condition)
                for event in events:
                    tx.save(event, condition=ConsentEvent.seq.does_not_exist())
                if unlink:
                    unlink_requests.request_in(tx, member_id, unlink, events[-1].at)
        except TransactWriteError as exc:
            # Another change came first (the sequence moved on) or held the item: read again
            # and retry.
            if not dynamo.only_contention(exc, also=("ConditionalCheckFailed",)):
                with storage_errors():
                    raise
            continue
        count_events(events)
        # The member as written (no second read): the state, sequence, head and audiences.
        member.consents, member.consent_seq = consents, int(events[-1].seq)
        member.consent_head = events[-1].event_hash
        for name, value in audience_values(member_id, consents, member.email_verified,
                                           member.suppressed).items():
            setattr(member, name, value)
        return member
    raise UnavailableError("Too many changes at the same time. Try again in a moment.",
                           retry_after=1)


class Planned(NamedTuple):
    """What a preference change records: purpose → granted, the values of those events, and
    the member's attributes that hold the new state (written in the same transaction)."""

    changes: dict
    values: dict
    actions: tuple


def commit(member_id: str, plan, provenance: Provenance, now: datetime | None = None) -> Member:
    """Record ``plan(member, now)`` (a ``Planned``) on the member as read, as ``change`` does for
    consents: the events and the new state in one transaction conditioned on the sequence
    read, retried on conflict; nothing is written when the plan changes nothing. Returns the
    member as stored afterwards."""
    now = now or clock.now()
    for _ in dynamo.retries(MAX_ATTEMPTS, base=0.005, cap=0.1):
        member = get_current(member_id)
        planned = plan(member, now)
        if not planned.changes:
            return member
        events, _, actions = chained_change(member, planned.changes, provenance, now,
                                            planned.values)
        try:
            with transaction() as tx:
                # The sequence condition also fails for an erased member: never recreated.
                tx.update(member, actions=[*actions, *planned.actions],
                          condition=Member.consent_seq == int(member.consent_seq))
                for event in events:
                    tx.save(event, condition=ConsentEvent.seq.does_not_exist())
        except TransactWriteError as exc:
            if not dynamo.only_contention(exc, also=("ConditionalCheckFailed",)):
                with storage_errors():
                    raise
            continue
        return get_current(member_id)
    raise UnavailableError("Too many changes at the same time. Try again in a moment.",
                           retry_after=1)


def policy_pending(member: Member) -> list:
    """The policy versions published since the member last answered (or registered): their
    changes, oldest first; empty when the member is up to date."""
    seen = member.policy_confirmed or FIRST_VERSION
    return changes_since(seen) if seen != policy_version() else []


def confirm_policy(member_id: str, wanted: dict, provenance: Provenance,
                   now: datetime | None = None) -> Member:
    """The member answered the notice of a new policy version: each choice, kept or changed
    now, is recorded again under the current version."""
    member = get_current(member_id)
    choices = {p: is_granted(member, p) for p in PURPOSES}
    choices.update(wanted)
    version = policy_version()
    confirmed = change(member_id, choices, provenance, now, restate=True,
                       extra_actions=(Member.policy_confirmed.set(version),))
    confirmed.policy_confirmed = version  # as written, like the rest of the returned member
    return confirmed


def get_current(member_id: str) -> Member:
    with storage_errors():
        try:
            return Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            raise NotFoundError("There is no such account. Log in again.") from None


def apply_gpc(member_id: str, provenance: Provenance, now: datetime | None = None) -> bool:
    """A signed-in browser sends Global Privacy Control: partner promotions are withdrawn,
    once per member (the member item keeps when). A grant the member makes afterwards stands.
    Returns True when this call withdrew them."""
    now = now or clock.now()
    with storage_errors():
        try:
            member = Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            return False
    if member.gpc_applied_at is not None:
        return False
    if not is_granted(member, PARTNER_PROMOTIONS):
        _mark_once(member, Member.gpc_applied_at, now)
        return False
    before = int(member.consent_seq)
    changed = change(member_id, {PARTNER_PROMOTIONS: False}, provenance, now,
                     once=Member.gpc_applied_at)
    return changed is not None and int(changed.consent_seq) > before


def _mark_once(member: Member, once, now: datetime) -> None:
    try:
        with storage_errors():
            # Set once, and never on a member erased meanwhile (an update would recreate it).
            member.update(actions=[once.set(now)],
                          condition=once.does_not_exist() & Member.member_id.exists())
    except UpdateError as exc:
        if not dynamo.condition_failed(exc):
            raise


def count_events(events: list) -> None:
    for event in events:
        if event.purpose not in PURPOSES:
            continue  # preferences are not consents: the statistics count grants and withdrawals
        counters.record("consent_grants" if event.granted else "consent_withdrawals",
                     dimension=event.purpose)


def history(member_id: str) -> list:
    """The member's events, oldest first."""
    with storage_errors():
        return list(ConsentEvent.query(member_id, scan_index_forward=True, consistent_read=True))


def event_id(event: ConsentEvent) -> str:
    """The public id of a consent event: derived one way from its chain hash."""
    return hashlib.sha256(f"consent-event:{event.event_hash}".encode()).hexdigest()[:24]


def event_json(event: ConsentEvent, full: bool = False) -> dict:
    data = {"id": event_id(event), "purpose": event.purpose, "granted": event.granted, "at": iso(event.at),
            "source": event.source, "policy_version": event.policy_version}
    if event.value is not None:
        data["value"] = event.value
    if full:
        data.update({"seq": int(event.seq), "page": event.page, "origin": event.origin,
                     "hash": event.event_hash})
    return data


def verify_chain(member_id: str) -> list:
    """Problems found in one member's history and state (empty when intact)."""
    problems = []
    with storage_errors():
        try:
            member = Member.get(member_id, consistent_read=True)
        except Member.DoesNotExist:
            return [f"{member_id}: no such member"]
    head = genesis_hash(member_id)
    expected_seq = 0
    latest: dict = {}
    for event in history(member_id):
        expected_seq += 1
        if int(event.seq) != expected_seq:
            problems.append(f"{member_id}: event {int(event.seq)} found where {expected_seq} was expected")
            expected_seq = int(event.seq)
        if event.prev_hash != head or _event_hash(head, event) != event.event_hash:
            problems.append(f"{member_id}: event {int(event.seq)} does not match the chain")
        head = event.event_hash
        latest[event.purpose] = event
    if int(member.consent_seq) != expected_seq or (member.consent_head or genesis_hash(member_id)) != head:
        problems.append(f"{member_id}: the member's consent head does not match its history")
    for purpose in PURPOSES:
        state = getattr(member.consents, purpose, None) if member.consents else None
        event = latest.get(purpose)
        if (state is None) != (event is None) or (state and state.granted != event.granted):
            problems.append(f"{member_id}: the current {purpose} consent differs from its history")
    return problems + _preference_problems(member, latest)


def _preference_problems(member: Member, latest: dict) -> list:
    """Where the member's promotion preferences differ from the last event of each."""
    problems = []
    off = {p.removeprefix(TOPIC_PREFIX) for p, e in latest.items()
           if p.startswith(TOPIC_PREFIX) and not e.granted}
    if off != set(member.topics_off or ()):
        problems.append(f"{member.member_id}: the topics turned off differ from their history")
    frequency = latest.get(FREQUENCY)
    if (frequency.value if frequency else None) != member.promotion_frequency:
        problems.append(f"{member.member_id}: the frequency differs from its history")
    snooze = latest.get(SNOOZE)
    until = snooze.value if snooze and snooze.granted else None
    if until != iso(member.snoozed_until):
        problems.append(f"{member.member_id}: the pause of promotions differs from its history")
    return problems


def all_member_ids():
    """Every member id, page by page (the operator's ``consent verify --all``)."""
    with storage_errors():
        for member in Member.scan(attributes_to_get=["member_id"]):
            yield member.member_id
