"""Opt-outs reach partners: signed notices asking a partner to unlink its own click ids.

When a member withdraws partner promotions (``consent_withdrawn``), their browser's Global
Privacy Control does (``gpc``), or their account is erased (``erased``), every partner that
has a referral click or a reported transaction of that member gets one notice naming only
that partner's click ids and the event: ``{"notice_id", "event", "click_ids", "sent_at"}``.
No notice names a member; the member's own record lists the notices' ids (``members``).

- **Recording.** Withdrawals and GPC leave a request beside the consent event, in the same
  transaction (``members.unlink_requests``); ``take_requests`` turns each into notices.
  Erasure records its notices itself, before it unlinks the clicks (``privacy.erasure``).
  Each (partner, click, event) is claimed once, conditionally, in the transaction that
  writes its notice: a click is never in two notices of one event, and recording again
  (after a crash, or twice at once) finds the notices already made.
- **Delivery.** ``deliver_due`` (the 5-minute sweeper, and ``partners notify``) leases each
  due notice with a conditional write (one sweeper at a time holds it, for ``LEASE``), POSTs
  it signed (``webhooks``), and records the outcome under that lease. Any 2xx acknowledges;
  anything else is tried again after 1, 2, 4 … minutes, at most 6 hours apart, for 30 days;
  then the notice is ``undeliverable``. A partner without a webhook gets nothing: its notices
  wait (looked at again every 6 hours) and go out as soon as it registers one.
- **Follow-up.** Notices a partner has not acknowledged 7 days after they were recorded are
  in the operator report, by partner and count.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import NamedTuple

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib import members
from chalicelib.members import unlink_requests
from chalicelib.partners import registry, webhooks
from chalicelib.partners.models import (
    NoticeClaim,
    Partner,
    PartnerNotice,
    PartnerTransaction,
    ReferralClick,
)
from chalicelib.platform import clock, dynamo, observability
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import new_token
from chalicelib.platform.dynamo import (
    cancelled_by_condition,
    condition_failed,
    storage_errors,
    transaction,
)
from chalicelib.platform.errors import NotFoundError, UnavailableError

CONSENT_WITHDRAWN, GPC, ERASED = unlink_requests.CONSENT_WITHDRAWN, unlink_requests.GPC, "erased"
EVENTS = (CONSENT_WITHDRAWN, GPC, ERASED)
PENDING, ACKNOWLEDGED, UNDELIVERABLE = "pending", "acknowledged", "undeliverable"
DUE = "due"  # the sparse due-notices index's only hash value
OPEN = "open"  # and the open-notices index's
NO_WEBHOOK = "no_webhook"
MAX_CLICKS = 50  # per notice: its claims and itself fit one transaction
# Longer than a sweeper can run (its Lambda stops at 5 minutes), so a notice is never POSTed
# by two sweepers at once; a sweeper that died leaves its notice to be tried after this.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=30)
OVERDUE_AFTER = timedelta(days=7)
SWEEP_BUDGET_S = 120.0
MAX_ATTEMPTS = 8


# --- recording ---------------------------------------------------------------------------------


def _links(member_id: str) -> dict:
    """partner id → the click ids that link the member to it (clicks made signed in, and the
    clicks of transactions reported about the member, whose click item may have expired)."""
    links: dict = {}
    with storage_errors():
        for click in ReferralClick.by_member.query(member_id):
            links.setdefault(click.partner_id, set()).add(click.click_id)
        for txn in PartnerTransaction.by_member.query(member_id):
            links.setdefault(txn.partner_id, set()).add(txn.click_id)
    return links


def _claim_key(partner_id: str, click_id: str, event: str) -> str:
    return f"{partner_id} {click_id} {event}"


def _claimed(partner_id: str, click_ids, event: str) -> dict:
    """click id → the notice already telling it this event (one BatchGetItem per 100)."""
    keys = [_claim_key(partner_id, c, event) for c in click_ids]
    if not keys:
        return {}
    with storage_errors():
        found = NoticeClaim.batch_get(keys, consistent_read=True)
        return {claim.claim.split(" ")[1]: claim.notice_id for claim in found}


def _notices_for(partner_id: str, click_ids: list, event: str, now: datetime) -> tuple:
    """(ids of the notices telling ``partner_id`` of ``event`` for these clicks, how many of
    them this call wrote)."""
    known = _claimed(partner_id, click_ids, event)
    ids, written = set(known.values()), 0
    todo = [c for c in click_ids if c not in known]
    while todo:
        chunk, todo = todo[:MAX_CLICKS], todo[MAX_CLICKS:]
        for _ in dynamo.retries(MAX_ATTEMPTS):
            notice = PartnerNotice(new_token(16), partner_id=partner_id, event=event,
                                   click_ids=chunk, created_at=now, status=PENDING,
                                   attempts=0, due=DUE, next_attempt_at=now,
                                   awaiting_ack=OPEN)
            try:
                with storage_errors(), transaction() as tx:
                    for click_id in chunk:
                        tx.save(NoticeClaim(_claim_key(partner_id, click_id, event),
                                            notice_id=notice.notice_id, created_at=now),
                                condition=NoticeClaim.claim.does_not_exist())
                    tx.save(notice, condition=PartnerNotice.notice_id.does_not_exist())
            except TransactWriteError as exc:
                taken = [chunk[i] for i in cancelled_by_condition(exc) if i < len(chunk)]
                if not taken and not dynamo.only_contention(exc):
                    raise
                # Recorded at the same time by another run: those clicks are its notice's.
                now_known = _claimed(partner_id, taken, event)
                ids.update(now_known.values())
                chunk = [c for c in chunk if c not in now_known]
                if not chunk:
                    break
                continue
            ids.add(notice.notice_id)
            written += 1
            break
        else:
            raise UnavailableError("Too many changes at the same time. Try again in a moment.",
                                   retry_after=1)
    return ids, written


def record(member_id: str, event: str, now: datetime | None = None) -> tuple:
    """Notices of ``event`` to every partner linked to the member, for every click not yet
    told of it. Returns (ids of every notice covering the member's clicks for this event,
    how many were written now). Idempotent; holds no member id."""
    if event not in EVENTS:
        raise ValueError(f"unknown notice event {event!r}")
    now = now or clock.now()
    ids, written = set(), 0
    for partner_id, click_ids in sorted(_links(member_id).items()):
        found, made = _notices_for(partner_id, sorted(click_ids), event, now)
        ids |= found
        written += made
    return sorted(ids), written


def notify_erasure(member_id: str, now: datetime | None = None) -> list:
    """Erasure's first step among the partners: the notices (``erased``) while the clicks
    still name the member; the ids are of no use afterwards (the member's record goes)."""
    return record(member_id, ERASED, now)[0]


class Taken(NamedTuple):
    requests: int
    notices_written: int


def take_requests(now: datetime | None = None, limit: int = 100) -> Taken:
    """Turn the members' waiting unlink requests into notices, then settle each request."""
    requests = unlink_requests.pending(limit)
    written = 0
    for request in requests:
        ids = set()
        for kind in sorted(request.kinds):
            found, made = record(request.member_id, kind, now)
            ids.update(found)
            written += made
        unlink_requests.settle(request, ids)
    return Taken(len(requests), written)


# --- delivery ----------------------------------------------------------------------------------


class Delivered(NamedTuple):
    acknowledged: int
    failed: int
    waiting: int      # for a partner with no webhook


def retry_wait(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt a notice is tried again."""
    return min(LONGEST_WAIT, FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 16)))


def body_of(notice: PartnerNotice, now: datetime) -> bytes:
    """What the partner receives: its click ids, the event, the notice's id, the time."""
    return json.dumps({"notice_id": notice.notice_id, "event": notice.event,
                       "click_ids": sorted(notice.click_ids), "sent_at": iso(now)},
                      separators=(",", ":")).encode("utf-8")


def _lease(notice_id: str, now: datetime) -> PartnerNotice | None:
    """The notice, held by this sweeper until ``now + LEASE``; None when it is not due or
    another sweeper holds it."""
    notice = PartnerNotice(notice_id)
    lease = new_token(12)
    try:
        with storage_errors():
            notice.update(actions=[PartnerNotice.lease_id.set(lease),
                                   PartnerNotice.lease_until.set(now + LEASE)],
                          condition=(PartnerNotice.status == PENDING)
                          & (PartnerNotice.next_attempt_at <= now)
                          & (PartnerNotice.lease_until.does_not_exist()
                             | (PartnerNotice.lease_until <= now)))
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return notice


def _finish(notice: PartnerNotice, actions: list) -> None:
    """Record an attempt's outcome, only while this sweeper still holds the lease."""
    try:
        with storage_errors():
            notice.update(actions=[*actions, PartnerNotice.lease_id.remove(),
                                   PartnerNotice.lease_until.remove()],
                          condition=PartnerNotice.lease_id == notice.lease_id)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def _not_acknowledged(notice: PartnerNotice, now: datetime, result: str, attempted: bool) -> list:
    attempts = int(notice.attempts) + (1 if attempted else 0)
    actions = [PartnerNotice.last_result.set(result)]
    if attempted:
        actions += [PartnerNotice.attempts.add(1), PartnerNotice.last_attempt_at.set(now)]
    if now - notice.created_at >= GIVE_UP_AFTER:
        return actions + [PartnerNotice.status.set(UNDELIVERABLE), PartnerNotice.due.remove(),
                          PartnerNotice.next_attempt_at.remove()]
    wait = retry_wait(attempts) if attempted else LONGEST_WAIT
    return actions + [PartnerNotice.next_attempt_at.set(now + wait)]


def _webhook(partner_id: str, cache: dict):
    """(url, secret) of the partner's webhook, once per sweep; None when it has none."""
    if partner_id in cache:
        return cache[partner_id]
    try:
        partner = registry.get(partner_id)
    except NotFoundError:
        partner = None
    webhook = None
    if partner is not None and partner.webhook_url and partner.webhook_secret:
        try:
            webhook = (partner.webhook_url,
                       webhooks.unseal_secret(partner_id, partner.webhook_secret))
        except ValueError:  # sealed under another stage key: the partner must set it again
            observability.get_logger().error("partner webhook secret unreadable", extra={
                "partner_id": partner_id})
    cache[partner_id] = webhook
    return webhook


def _attempt(notice: PartnerNotice, cache: dict) -> str:
    """One delivery of a leased notice; returns ``acknowledged``, ``failed`` or ``waiting``."""
    now = clock.now()
    webhook = _webhook(notice.partner_id, cache)
    if webhook is None:
        _finish(notice, _not_acknowledged(notice, now, NO_WEBHOOK, attempted=False))
        return "waiting"
    url, secret = webhook
    body = body_of(notice, now)
    result = webhooks.post(url, body, {
        webhooks.SIGNATURE_HEADER: webhooks.signature(secret, int(now.timestamp()), body)})
    acknowledged = result.startswith("http_2")
    observability.get_logger().info("partner notice attempt", extra={
        "notice_id": notice.notice_id, "partner_id": notice.partner_id, "result": result,
        "attempt": int(notice.attempts) + 1})
    if acknowledged:
        _finish(notice, [PartnerNotice.status.set(ACKNOWLEDGED),
                         PartnerNotice.acknowledged_at.set(now),
                         PartnerNotice.attempts.add(1), PartnerNotice.last_attempt_at.set(now),
                         PartnerNotice.last_result.set(result), PartnerNotice.due.remove(),
                         PartnerNotice.next_attempt_at.remove(),
                         PartnerNotice.awaiting_ack.remove()])
        return "acknowledged"
    _finish(notice, _not_acknowledged(notice, now, result, attempted=True))
    return "failed"


def deliver_due(limit: int = 100, budget_s: float = SWEEP_BUDGET_S) -> Delivered:
    """Deliver the notices whose time has come, oldest first, for at most ``budget_s``
    seconds (each POST waits at most 5 s per step). Safe to run in several places at once."""
    now = clock.now()
    deadline = clock.monotonic() + budget_s
    with storage_errors():
        due = list(PartnerNotice.due_notices.query(
            DUE, PartnerNotice.next_attempt_at <= now, limit=limit))
    outcomes = {"acknowledged": 0, "failed": 0, "waiting": 0}
    cache: dict = {}
    for key in due:
        if clock.monotonic() > deadline:
            break
        notice = _lease(key.notice_id, clock.now())
        if notice is not None:
            outcomes[_attempt(notice, cache)] += 1
    return Delivered(**outcomes)


def run() -> dict:
    """What the 5-minute sweeper does (and ``partners notify``): waiting requests become
    notices, then the notices due are delivered."""
    taken = take_requests()
    delivered = deliver_due()
    return {"requests": taken.requests, "notices_recorded": taken.notices_written,
            **delivered._asdict()}


# --- the partner's webhook -----------------------------------------------------------------------


def register_webhook(partner_id: str, url: str, now: datetime | None = None) -> dict:
    """Set (or replace) the partner's webhook with a new secret, shown this once; notices
    that were waiting for it, or had been given up, are due at once."""
    now = now or clock.now()
    url = webhooks.check_url(url)
    secret = webhooks.new_secret()
    try:
        with storage_errors():
            Partner(partner_id).update(actions=[
                Partner.webhook_url.set(url),
                Partner.webhook_secret.set(webhooks.seal_secret(partner_id, secret)),
                Partner.webhook_set_at.set(now)], condition=Partner.partner_id.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError("There is no such partner.") from None
        raise
    revive(partner_id, now)
    return {"url": url, "secret": secret, "set_at": iso(now)}


def webhook_of(partner_id: str) -> dict | None:
    """The partner's webhook without its secret (None when it has none)."""
    partner = registry.get(partner_id)
    if not partner.webhook_url:
        return None
    return {"url": partner.webhook_url, "set_at": iso(partner.webhook_set_at)}


def remove_webhook(partner_id: str) -> None:
    """No more notices are sent (they wait, and are reported); the secret is forgotten."""
    with storage_errors():
        Partner(partner_id).update(actions=[Partner.webhook_url.remove(),
                                            Partner.webhook_secret.remove(),
                                            Partner.webhook_set_at.remove()],
                                   condition=Partner.partner_id.exists())


def revive(partner_id: str, now: datetime | None = None) -> int:
    """Make every notice the partner has not acknowledged due now (a new webhook). Reads the
    unacknowledged notices of every partner (a small backlog; a webhook is set rarely)."""
    now = now or clock.now()
    revived = 0
    with storage_errors():
        keys = list(PartnerNotice.open_notices.query(
            OPEN, filter_condition=PartnerNotice.partner_id == partner_id))
    for key in keys:
        try:
            with storage_errors():
                PartnerNotice(key.notice_id).update(
                    actions=[PartnerNotice.status.set(PENDING), PartnerNotice.due.set(DUE),
                             PartnerNotice.next_attempt_at.set(now)],
                    condition=(PartnerNotice.awaiting_ack == OPEN)
                    & (PartnerNotice.partner_id == partner_id))
            revived += 1
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
    return revived


# --- what members and the operator see ---------------------------------------------------------


def state_of(notice: PartnerNotice) -> str:
    """``acknowledged``; ``no_webhook`` (the partner gave no address yet); ``sending``;
    ``undeliverable`` (tried for 30 days)."""
    if notice.status == PENDING and notice.last_result == NO_WEBHOOK:
        return NO_WEBHOOK
    return {PENDING: "sending"}.get(notice.status, notice.status)


def notices_of_member(member_id: str) -> list:
    """The notices sent about the member, oldest first: which partner, which event, when it
    was recorded, and whether the partner acknowledged it. Only the notices the member's own
    record lists: nobody sees another member's."""
    try:
        member = members.get_member(member_id)
    except NotFoundError:
        return []
    ids = unlink_requests.notice_ids_of(member)
    if not ids:
        return []
    with storage_errors():
        found = list(PartnerNotice.batch_get(ids))
    known = registry.get_many(n.partner_id for n in found)
    return [{"notice_id": n.notice_id,
             "partner": registry.presented(known.get(n.partner_id), n.partner_id),
             "event": n.event, "recorded_at": iso(n.created_at), "state": state_of(n),
             "acknowledged_at": iso(n.acknowledged_at)}
            for n in sorted(found, key=lambda n: (n.created_at, n.notice_id))]


def overdue(now: datetime | None = None, older_than: timedelta = OVERDUE_AFTER) -> list:
    """Per partner: how many notices it has not acknowledged ``older_than`` after they were
    recorded, and the oldest one's time. No click, member or notice ids."""
    cutoff = (now or clock.now()) - older_than
    by_partner: dict = {}
    with storage_errors():  # one Query: only the overdue notices are read
        for key in PartnerNotice.open_notices.query(OPEN, PartnerNotice.created_at <= cutoff):
            by_partner.setdefault(key.partner_id, []).append(key.created_at)
    known = registry.get_many(by_partner)
    return [{"partner_id": partner_id,
             "name": known[partner_id].name if partner_id in known else "a former partner",
             "count": len(times), "oldest_at": iso(min(times))}
            for partner_id, times in sorted(by_partner.items())]
