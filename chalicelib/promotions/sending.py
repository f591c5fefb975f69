"""Sending promotional e-mail: only to members eligible at the moment of sending, once each.

Flow: a promotion is created (a partner's waits for the operator's review; eSO's own offers
are created approved), then *planned*: the sparse audience index of its purpose (only verified,
consenting, unsuppressed members carry the attribute) is paged into batches of up to 50
member ids. Each batch goes to the send worker — through SQS on AWS, in-process on the local
stack — which, right before calling SES:

1. reads the batch's members with one strongly consistent BatchGetItem and keeps those who
   hold the consent, are verified, exist, are not suppressed and have not paused promotions
   *now*; a partner promotion's members who take none of its topics are not its audience
   (left out, not counted);
2. claims each of them in the delivery ledger with a conditional put (absent → ``claimed``),
   so a retried or duplicated batch never sends twice; for a partner promotion, takes each
   member's allowance (send_windows.py: one per day, week or month) and releases the claims
   of members at their limit;
3. sends one SES v2 SendBulkEmail with the promotion's template (its variant's, for a
   promotion with A/B variants: the planner splits the audience, variants.py, and each batch
   names its variant), whose links go through ``/r/`` (clicks.py), a per-recipient one-click
   unsubscribe link (RFC 8058 headers) and the configuration set;
4. marks each entry ``sent`` or ``failed``; throttled or transiently failed entries release
   their claim and are retried with backoff, then the batch is raised back to SQS.

At the account's daily quota (quota.py) the batch's unsent claims are released and the
promotion is *paused* instead: the batch is done with (no SQS retry, no dead letters), later
batches of a paused promotion do nothing, and ``resume_due`` (the scheduled sweeper) plans it
again for the members not yet in its ledger once the quota allows.

A worker that dies after a claim and before the ledger update leaves that member ``claimed``;
a retry does not send to them again. Each message carries SES tags naming its ledger entry,
SES's Send and Delivery events confirm such claims (ses_events.py), and ``reconcile_claims``
settles the ones over an hour old: confirmed → ``sent``, no event → claimed again in place
(new attempt, marked resent) and resent once; resent and still unconfirmed → ``failed``.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError

from chalicelib import members, partners
from chalicelib.platform import aws, clock, dynamo, mail, observability
from chalicelib.platform.dynamo import storage_errors, transaction
from chalicelib.platform.errors import ConflictError, UnavailableError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.templates import render_text
from chalicelib.platform.vocabulary import OFFERS, PARTNER, PARTNER_PROMOTIONS
from chalicelib.promotions import quota, send_windows, variants
from chalicelib.promotions.campaigns import SENDS, get, partner_may_send
from chalicelib.promotions.clicks import click_url
from chalicelib.promotions.content import (
    rewrite_html,
    rewrite_text,
    variant_content,
    variant_count,
    variant_label,
)
from chalicelib.promotions.counts import (
    add_delivery_counts,
    delivery_counts,
    set_planned,
    variant_delivered,
)
from chalicelib.promotions.models import Delivery, DeliveryCounts, Promotion
from chalicelib.promotions.snooze_links import snooze_token
from chalicelib.promotions.unsubscribe_links import unsubscribe_url
from chalicelib.statistics import counters

BATCH_SIZE = 50                  # SES SendBulkEmail takes up to 50 destinations
LEDGER_TTL = timedelta(days=400)
SES_RETRIES = 5
PURPOSE_LABEL = {
    OFFERS: "special offers and services from eSmallOffice",
    PARTNER_PROMOTIONS: "product promotions from eSmallOffice's marketing partners",
}
ONE_CLICK = ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
# Message tags naming each message's ledger entry: SES returns them with its Send and Delivery
# events (ses_events.py), which confirm claims a dead worker left behind. Both go on every
# entry: an entry's own tags may replace the call's default tags instead of adding to them.
TAG_PROMOTION = "eso-promotion"
TAG_MEMBER = "eso-member"
TAG_TEST = "eso-test-send"       # a test send to an operator: no member, no ledger entry
# A claim no event confirmed this long after it was made is resent once (SES publishes a Send
# event seconds after accepting a message; a worker runs at most 2 minutes).
RECONCILE_AFTER = timedelta(hours=1)
RECONCILE_HORIZON = timedelta(days=2)  # promotions whose sending began this recently
FAILURES_METRIC = "promotion_failures"  # the daily counter of messages that failed for good
# Test sends: to the signed-in operator's own address only, and at most this many an hour.
TEST_SENDS_PER_HOUR = 10
# An approval to send not planned this long after is taken as lost and started again (its
# message to the worker is normally planned within seconds).
STALE_START = timedelta(minutes=15)
TEST_UNSUBSCRIBE_TOKEN = "test-send-names-no-member"


class BatchResult(NamedTuple):
    delivered: int
    skipped: int
    failed: int


def batches(member_ids: Iterable[str], size: int = BATCH_SIZE) -> Iterator[list]:
    batch = []
    for member_id in member_ids:
        batch.append(member_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def dispatch(promotion_id: str, send: Optional[Callable] = None, progress=lambda n: None,
             batch_size: int = BATCH_SIZE) -> int:
    """Plan an approved promotion and hand its batches to ``send`` (default: the stage's way).

    Returns the number of batches. On AWS the batches go to SQS; on the local stack (or when
    ``send`` is given) they are sent in-process by the same worker code. Members already in
    the delivery ledger are left out, so a resumed or re-run plan sends only to the rest.
    """
    promotion = get(promotion_id)
    now = clock.now()
    try:
        with storage_errors():
            promotion.update(actions=[Promotion.status.set("sending"),
                                      Promotion.window_started_at.set(now),
                                      Promotion.activity.set(SENDS),
                                      Promotion.activity_at.set(now),
                                      Promotion.paused_reason.remove(),
                                      Promotion.resume_at.remove()],
                             condition=Promotion.status.is_in("approved", "sending"))
    except UpdateError:
        raise ConflictError(f"The promotion is {promotion.status}: only an approved promotion is "
                            "sent. Approve it first.", code="invalid_state") from None
    if send is None:
        send = _enqueue if get_settings().send_queue else _send_now
    held = _in_ledger(promotion_id)
    counted = delivery_counts(promotion)  # before this plan's batches add to them
    count = members_planned = 0
    planned = (m for m in members.audience_ids(promotion.purpose) if m not in held)
    # A promotion with A/B variants is split here, by keyed-hash rank (variants.py).
    for batch, variant in variants.planned_batches(promotion, planned, held, batch_size):
        send(promotion_id, batch, **({} if variant is None else {"variant": variant}))
        count += 1
        members_planned += len(batch)
        progress(count)
    set_planned(promotion_id, _planned_total(counted, held, members_planned))
    try:
        with storage_errors():  # unless a batch paused it meanwhile
            promotion.update(actions=[Promotion.status.set("sent")],
                             condition=Promotion.status == "sending")
    except UpdateError:
        pass
    return count


def _planned_total(before, held, handed_out: int) -> int:
    """The members a plan accounts for: those already counted (delivered, skipped, failed)
    before it, those claimed in the ledger and not yet counted, and those it handed out."""
    in_flight = max(0, len(held) - before.delivered - before.failed)
    return before.delivered + before.skipped + before.failed + in_flight + handed_out


def _in_ledger(promotion_id: str) -> dict:
    """Member ids the delivery ledger holds for the promotion (sent, failed or claimed), each
    with the A/B variant it was planned for (None without variants)."""
    with storage_errors():
        return {d.member_id: d.variant for d in Delivery.query(
            promotion_id, consistent_read=True, attributes_to_get=["member_id", "variant"])}


def pause(promotion_id: str, now: Optional[datetime] = None) -> Optional[datetime]:
    """Pause a promotion SES refused for the daily quota; returns when it resumes (or None when
    it was not sending). Its batches still queued are held; ``resume_due`` plans the rest."""
    quota.forget()
    now = now or clock.now()
    promotion = get(promotion_id)
    resume_at = quota.resume_time(promotion.window_started_at, now)
    try:
        with storage_errors():
            promotion.update(actions=[Promotion.status.set("paused"),
                                      Promotion.paused_reason.set("daily_quota"),
                                      Promotion.resume_at.set(resume_at)],
                             condition=Promotion.status.is_in("sending", "sent"))
    except UpdateError:
        return None
    observability.get_logger().warning("promotion paused: daily quota", extra={
        "promotion_id": promotion_id, "resume_at": clock.iso(resume_at)})
    return resume_at


def resume_due(now: Optional[datetime] = None, send: Optional[Callable] = None) -> list:
    """Resume the paused promotions whose time came (or, earlier, once a tenth of the daily
    quota is free again) when the account has room for their first batch: each is planned
    again for the members not yet in its ledger.
    Returns the ids resumed. Run by the stage's schedule and by ``promotions reconcile``."""
    now = now or clock.now()
    resumed = []
    with storage_errors():
        paused = [p for p in Promotion.scan(Promotion.status == "paused")]
    for promotion in paused:
        go, next_at = quota.may_resume(promotion.resume_at, now, BATCH_SIZE,
                                       lambda: _waiting(promotion))
        try:
            with storage_errors():
                if not go:
                    if next_at != promotion.resume_at:
                        promotion.update(actions=[Promotion.resume_at.set(next_at)],
                                         condition=Promotion.status == "paused")
                    continue
                promotion.update(actions=[Promotion.status.set("sending")],
                                 condition=Promotion.status == "paused")
        except UpdateError:
            continue  # resumed or changed by someone else meanwhile
        dispatch(promotion.promotion_id, send=send)
        resumed.append(promotion.promotion_id)
    return resumed


def start_due(now: Optional[datetime] = None, send: Optional[Callable] = None) -> list:
    """Start the scheduled promotions whose time came (the sweeper's work, every 5 minutes;
    also ``promotions reconcile``): each becomes approved and is started as an approval from
    the console is, handed to the send worker on a stage with a queue. A promotion
    rescheduled or rejected meanwhile is left alone. Returns the ids started."""
    now = now or clock.now()
    started = []
    with storage_errors():
        due = [p for p in Promotion.scan(Promotion.status == "scheduled")
               if p.send_at is not None and p.send_at <= now]
    for promotion in due:
        if promotion.kind == PARTNER and not partner_may_send(promotion.partner_id):
            continue  # held until the partner may send again (or the operator decides)
        try:
            with storage_errors():
                promotion.update(actions=[Promotion.status.set("approved"),
                                          Promotion.send_at.remove(),
                                          Promotion.activity_at.set(now)],
                                 condition=(Promotion.status == "scheduled")
                                 & (Promotion.send_at == promotion.send_at))
        except UpdateError:
            continue
        _start(promotion.promotion_id, send)
        started.append(promotion.promotion_id)
    return started


def restart_lost(now: Optional[datetime] = None, send: Optional[Callable] = None) -> list:
    """Start again the promotions approved to send whose start was lost: approved between
    ``STALE_START`` and ``RECONCILE_HORIZON`` ago and never planned (a crash between the
    approval and its message to the worker, or between a due schedule's approval and its
    start). Offers are made approved and sent by hand: only an approval to send is in the
    sparse ``send-activity`` index, which is read (one Query, without content) instead of the
    table. A partner that may not send now is held, as ``start_due`` holds it. The sweeper's
    work and ``promotions reconcile``'s; returns the ids started."""
    now = now or clock.now()
    with storage_errors():
        lost = list(Promotion.send_activity.query(
            SENDS, Promotion.activity_at.between(now - RECONCILE_HORIZON, now - STALE_START),
            filter_condition=Promotion.status == "approved"))
    started = []
    for promotion in lost:
        if promotion.kind == PARTNER and not partner_may_send(promotion.partner_id):
            continue
        _start(promotion.promotion_id, send)
        started.append(promotion.promotion_id)
    return started


def _start(promotion_id: str, send: Optional[Callable]) -> None:
    """Plan in the send worker where there is a queue (planning a large audience may take
    longer than the sweeper runs; SQS gives the start again if the worker dies), here
    otherwise."""
    if send is None and get_settings().send_queue:
        _queue_message({"promotion_id": promotion_id, "start": True})
    else:
        dispatch(promotion_id, send=send)


def start_sending(promotion_id: str) -> str:
    """Start sending an approved promotion from a request (the console): on a stage with a
    send queue, one message asks the send worker to plan it (planning a large audience takes
    longer than a request may); without one (the local stack), it is planned and sent here.
    Returns "queued" or "sent"."""
    _start(promotion_id, None)
    return "queued" if get_settings().send_queue else "sent"


def _queue_message(body: dict) -> None:
    client = aws.sqs()
    with storage_errors():  # SQS throttled or unreachable: 503, the request may be retried
        url = client.get_queue_url(QueueName=get_settings().send_queue)["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _enqueue(promotion_id: str, member_ids: list, variant: Optional[int] = None) -> None:
    body = {"promotion_id": promotion_id, "member_ids": member_ids}
    if variant is not None:
        body["variant"] = variant  # the A/B variant the batch was planned for
    _queue_message(body)


def _send_now(promotion_id: str, member_ids: list, variant: Optional[int] = None) -> None:
    send_batch(promotion_id, member_ids, variant=variant)


def handle_queue_message(body: str) -> BatchResult:
    """The SQS worker's entry: one batch. A malformed message raises (→ dead-letter queue)."""
    data = json.loads(body)
    if (isinstance(data, dict) and set(data) == {"promotion_id", "start"}
            and isinstance(data["promotion_id"], str) and data["start"] is True):
        _start_from_queue(data["promotion_id"])
        return BatchResult(0, 0, 0)
    if (not isinstance(data, dict) or not isinstance(data.get("promotion_id"), str)
            or not isinstance(data.get("member_ids"), list)
            or not all(isinstance(m, str) for m in data["member_ids"])
            or len(data["member_ids"]) > BATCH_SIZE
            or type(data.get("variant", 0)) is not int):
        raise ValueError("malformed send batch")
    return send_batch(data["promotion_id"], data["member_ids"], variant=data.get("variant"))


def _start_from_queue(promotion_id: str) -> None:
    """The console's request to start a promotion: plan it into batches. SQS may deliver the
    message twice: a promotion already planned (or no longer approved) is left as it is, and a
    plan run again hands out only members not yet in the ledger."""
    if get(promotion_id).status not in ("approved", "sending"):
        return
    try:
        dispatch(promotion_id)
    except ConflictError:
        return  # planned by another delivery of the same message meanwhile


def _claim(promotion_id: str, member_ids: list, attempt: str, now: datetime,
           resend: bool = False, variant: Optional[int] = None) -> set:
    """Claim the ledger entries of ``member_ids`` that nobody holds yet; returns those claimed.

    One transaction of conditional puts per batch (one call instead of 50); members already in
    the ledger make it cancel with their reasons, and it is retried without them.
    """
    wanted = list(member_ids)
    for _ in range(len(member_ids) + 3):
        if not wanted:
            return set()
        try:
            with storage_errors(), transaction() as tx:
                for member_id in wanted:
                    tx.save(Delivery(promotion_id, member_id, status="claimed", attempt=attempt,
                                     at=now, expires_at=now + LEDGER_TTL,
                                     resent=True if resend else None, variant=variant),
                            condition=Delivery.member_id.does_not_exist())
            return set(wanted)
        except TransactWriteError as exc:
            taken = {wanted[i] for i in dynamo.cancelled_by_condition(exc)}
            if not taken and not dynamo.only_contention(exc):
                raise
            wanted = [m for m in wanted if m not in taken]
    raise UnavailableError("The delivery ledger is busy. The batch will be retried.")


def _release(promotion_id: str, member_ids: list, attempt: Optional[str]) -> None:
    """Give up the claims ``attempt`` holds on ``member_ids`` (none when it is None), and the
    allowances of partner promotions taken for them: nothing was sent."""
    if attempt is None:
        return
    released = []
    for member_id in member_ids:
        try:
            with storage_errors():
                Delivery(promotion_id, member_id).delete(
                    condition=(Delivery.attempt == attempt) & (Delivery.status == "claimed"))
            released.append(member_id)
        except DeleteError as exc:
            if not dynamo.condition_failed(exc):
                raise
            # no longer ours: leave it
    if released:
        send_windows.release(promotion_id, released)


def _mark(promotion_id: str, outcomes: dict, attempt: str, now: datetime,
          variant: Optional[int] = None) -> None:
    """member id → (status, message id) for entries SES answered, in batched writes."""
    with storage_errors(), Delivery.batch_write() as batch:
        for member_id, (status, message_id) in outcomes.items():
            batch.save(Delivery(promotion_id, member_id, status=status, attempt=attempt, at=now,
                                message_id=message_id, expires_at=now + LEDGER_TTL,
                                variant=variant))


def send_batch(promotion_id: str, member_ids: list, now: Optional[datetime] = None,
               after_send: Optional[Callable] = None, resend: bool = False,
               attempt: Optional[str] = None, variant: Optional[int] = None) -> BatchResult:
    """Send one batch (see the module docstring). Safe to run again for the same batch.
    ``resend``: the reconciler's second and last try for claims no event confirmed.
    ``attempt``: the members are already claimed under this attempt (the reconciler's claims
    taken over in place); those not sent to are released.
    ``variant``: the A/B variant the batch was planned for (needed when the promotion has
    variants; ValueError otherwise, as for any malformed batch)."""
    promotion = get(promotion_id)
    _check_variant(promotion, variant)
    if promotion.status == "paused":
        _release(promotion_id, member_ids, attempt)
        return BatchResult(0, 0, 0)  # held: planned again when the promotion resumes
    if promotion.status not in ("approved", "sending", "sent") or (
            promotion.kind == PARTNER and not partner_may_send(promotion.partner_id)):
        _release(promotion_id, member_ids, attempt)
        return BatchResult(0, len(member_ids), 0)
    now = now or clock.now()
    found = members.read_many(member_ids)
    # Members who take none of a partner promotion's topics were never its audience: they are
    # neither sent nor counted. The others not sent now are counted as skipped.
    audience = [m for m in member_ids if members.in_topics(found.get(m), promotion.topics)]
    recipients = [found[m] for m in audience
                  if members.eligible(found.get(m), promotion.purpose, now)]
    if attempt is None:
        attempt = uuid.uuid4().hex
        ours = _claim(promotion_id, [m.member_id for m in recipients], attempt, now, resend,
                      variant)
    else:
        ours = {m.member_id for m in recipients}
        _release(promotion_id, sorted(set(member_ids) - ours), attempt)
    claimed = [m for m in recipients if m.member_id in ours]
    if promotion.kind == PARTNER and claimed:
        try:
            allowed = send_windows.take(promotion_id, claimed, now)
        except BaseException:
            _release(promotion_id, [m.member_id for m in claimed], attempt)
            raise
        _release(promotion_id, sorted(m.member_id for m in claimed
                                      if m.member_id not in allowed), attempt)
        claimed = [m for m in claimed if m.member_id in allowed]
    skipped = len(audience) - len(claimed)
    delivered = failed = 0
    pending = claimed
    # Claims SES has certainly not sent: only these may be released when something fails.
    # While a call is in flight its entries are uncertain and stay claimed (at most once).
    unsent = {m.member_id for m in claimed}
    over_quota = False
    try:
        for retry in range(SES_RETRIES + 1):
            if not pending:
                break
            if quota.remaining() < len(pending):
                over_quota = True  # the account's quota has no room for them: do not try
                break
            unsent -= {m.member_id for m in pending}
            outcomes, retry_ids, refused = _send_bulk(promotion, pending, variant)
            unsent |= retry_ids | refused
            quota.note_sent(len(outcomes))
            _mark(promotion_id, outcomes, attempt, now, variant)
            delivered += sum(1 for status, _ in outcomes.values() if status == "sent")
            failed += sum(1 for status, _ in outcomes.values() if status == "failed")
            if after_send:
                after_send(delivered)
            if refused:
                over_quota = True
                break
            pending = [m for m in pending if m.member_id in retry_ids]
            if pending:
                _backoff(retry)
        if pending and not over_quota:
            raise UnavailableError("SES keeps throttling. The batch will be retried.")
    except BaseException:
        _release(promotion_id, sorted(unsent), attempt)
        raise
    finally:
        _count(promotion, delivered, skipped, failed, variant)
    if over_quota:
        # Not an error: the batch is done with, its unsent members wait for the resumption
        # (which plans them again), and SQS does not redeliver it towards the dead letters.
        _release(promotion_id, sorted(unsent), attempt)
        pause(promotion_id)
    return BatchResult(delivered, skipped, failed)


def _check_variant(promotion: Promotion, variant: Optional[int]) -> None:
    """A batch of a promotion with variants names one of them; other batches name none."""
    n = variant_count(promotion)
    fits = variant is None if n == 1 else type(variant) is int and 0 <= variant < n
    if not fits:
        raise ValueError("malformed send batch: the variant does not fit the promotion")


def _backoff(retry: int) -> None:
    clock.jitter_sleep(retry, base=0.05)


def _count(promotion: Promotion, delivered: int, skipped: int, failed: int,
           variant: Optional[int] = None) -> None:
    if not (delivered or skipped or failed):
        return
    add_delivery_counts(promotion.promotion_id, delivered, skipped, failed, variant)
    _note_delivered(promotion, delivered)
    _note_failed(promotion, failed)


def _note_failed(promotion: Promotion, failed: int) -> None:
    """Messages SES refused for good, counted per day (the console's Today page)."""
    if failed:
        counters.increment(FAILURES_METRIC, dimension=promotion.kind, amount=failed)


def _note_delivered(promotion: Promotion, delivered: int) -> None:
    """The statistics and metrics of messages delivered (the promotion's own counts apart)."""
    if delivered:
        counters.increment("promotion_deliveries", dimension=promotion.kind, amount=delivered)
        observability.count("PromotionsSent", delivered)


_last_send = [0.0]


def _pace(count: int) -> None:
    """Keep this container to its share of the account's send rate (see quota.py)."""
    interval = count / quota.container_rate()
    wait = _last_send[0] + interval - clock.monotonic()
    if 0 < wait <= interval:  # (a clock that jumped, e.g. a test's, never means a long wait)
        clock.sleep(wait)
    _last_send[0] = clock.monotonic()


def _send_bulk(promotion: Promotion, recipients: list, variant: Optional[int] = None) -> tuple:
    """One bulk send; returns (member id → (status, message id), ids to retry, ids SES
    refused for the daily quota)."""
    template = ensure_template(promotion, variant)
    entries = []
    for member in recipients:
        url = unsubscribe_url(member.member_id, promotion.purpose)
        entries.append(mail.BulkEntry(member.email, {"unsubscribe_url": url,
                                                     "snooze_token": snooze_token(member.member_id)},
                                      (("List-Unsubscribe", f"<{url}>"), ONE_CLICK),
                                      ((TAG_PROMOTION, promotion.promotion_id),
                                       (TAG_MEMBER, member.member_id))))
    _pace(len(recipients))
    try:
        results = mail.sender().send_bulk(template, {"unsubscribe_url": "", "snooze_token": ""},
                                          (ONE_CLICK,),
                                          entries, tags=((TAG_PROMOTION, promotion.promotion_id),))
    except mail.ThrottledError:
        return {}, {m.member_id for m in recipients}, set()
    except mail.QuotaExceededError:
        return {}, set(), {m.member_id for m in recipients}
    outcomes, retry, refused = {}, set(), set()
    for member, result in zip(recipients, results):
        if result.status == "retry":
            retry.add(member.member_id)
        elif result.status == "quota":
            refused.add(member.member_id)
        else:
            outcomes[member.member_id] = (result.status, result.message_id)
    return outcomes, retry, refused


def template_name(promotion: Promotion, variant: Optional[int] = None) -> str:
    """``eso-<stage>-promotion-<id>``, with ``-a``/``-b``/``-c`` for a variant's template."""
    suffix = f"-{variant_label(variant).lower()}" if variant is not None else ""
    return f"eso-{get_settings().stage}-promotion-{promotion.promotion_id}{suffix}"


def ensure_template(promotion: Promotion, variant: Optional[int] = None) -> str:
    """The promotion's (or its variant's) mail template (created once per container)."""
    name = template_name(promotion, variant)
    mail.sender().ensure_template(name, *render_content(promotion, variant))
    return name


def message_content(promotion: Promotion, variant: Optional[int] = None) -> tuple:
    """The subject, text and HTML (None: none of its own) a variant's members get, each link
    of the promotion going through its ``/r/`` address for that variant."""
    content = variant_content(promotion, variant)
    links = list(promotion.links or ())

    def url_for(link: int) -> str:
        return click_url(promotion.promotion_id, variant or 0, link)

    return (content.subject, rewrite_text(content.text, links, url_for),
            rewrite_html(content.html, links, url_for) if content.html and links else content.html)


def render_content(promotion: Promotion, variant: Optional[int] = None) -> tuple:
    """Subject, text and HTML of the template, with the visible unsubscribe link and address."""
    from markupsafe import Markup, escape

    settings = get_settings()
    sender = _sender(promotion)
    subject, text, html = message_content(promotion, variant)
    context = {"promotion": promotion, "sender": sender, "postal_address": settings.postal_address,
               "purpose_label": PURPOSE_LABEL[promotion.purpose], "base_url": settings.base_url,
               "body_text": text,
               "body_html": Markup(html) if html else
               Markup("<br>\n").join(escape(line) for line in text.split("\n"))}
    return (subject, render_text("email/promotion.txt", **context),
            render_text("email/promotion.html", **context))


# The per-member parts of every message, as SES fills them in (the template's variables):
# the unsubscribe link, and the token of the pause links.
UNSUBSCRIBE_VARIABLE = "{{unsubscribe_url}}"
SNOOZE_VARIABLE = "{{snooze_token}}"


def preview(promotion_id: str, unsubscribe_placeholder: str = "[each member's own token]",
            snooze_placeholder: str = "[each member's own pause token]",
            variant: Optional[int] = None) -> dict:
    """A promotion exactly as members would receive it, rendered by the code that sends it,
    with the member-specific unsubscribe and pause links shown as placeholders: ``subject``,
    ``text`` (the text part, footer included), ``html`` (the HTML part), ``footer`` (the
    footer lines of the text part), ``headers`` (the unsubscribe headers) and ``links`` (each
    link's ``/r/`` address and the target it leads to). ``variant``: one A/B variant's message
    (the first when the promotion has variants and none is named)."""
    from markupsafe import escape

    promotion = get(promotion_id)
    if variant is None and promotion.variants:
        variant = 0
    _check_variant(promotion, variant)
    body_text = message_content(promotion, variant)[1]
    subject, text, html = render_content(promotion, variant)
    url = f"{get_settings().base_url}/unsubscribe?token={unsubscribe_placeholder}"
    text = text.replace(UNSUBSCRIBE_VARIABLE, url).replace(SNOOZE_VARIABLE, snooze_placeholder)
    html = html.replace(UNSUBSCRIBE_VARIABLE, str(escape(url))).replace(
        SNOOZE_VARIABLE, str(escape(snooze_placeholder)))
    # The text part is the promotion's text, then the footer (email/promotion.txt).
    footer = text[len(body_text):] if text.startswith(body_text) else ""
    links = [{"link": i + 1, "url": click_url(promotion.promotion_id, variant or 0, i),
              "target": target} for i, target in enumerate(promotion.links or ())]
    return {"promotion": promotion, "subject": subject, "text": text, "html": html,
            "footer": footer.strip("\n").removeprefix("--\n"),
            "headers": {"List-Unsubscribe": f"<{url}>", ONE_CLICK[0]: ONE_CLICK[1]},
            "from": get_settings().mail_from, "links": links,
            "variant": variant_label(variant) if promotion.variants else None}


def send_test(promotion_id: str, to: str, requester: str) -> Optional[str]:
    """Send the promotion's exact message — its SES template, headers and footer — to one
    address (the signed-in operator's own), at most ``TEST_SENDS_PER_HOUR`` an hour per
    ``requester``. The delivery ledger, the counts and the statistics are not touched, and its
    unsubscribe link names no member (following it changes nothing). Returns the message id."""
    from chalicelib.platform import ratelimit

    promotion = get(promotion_id)
    ratelimit.take(f"test-send:{requester}", TEST_SENDS_PER_HOUR, 3600,
                   message=f"At most {TEST_SENDS_PER_HOUR} test sends an hour. Try again later.")
    # Every variable of the template is given (SES drops a message whose template misses one);
    # a promotion with A/B variants is tested as its first variant, as the preview shows it.
    template = ensure_template(promotion, 0 if promotion.variants else None)
    url = f"{get_settings().base_url}/unsubscribe?token={TEST_UNSUBSCRIBE_TOKEN}"
    entry = mail.BulkEntry(to, {"unsubscribe_url": url, "snooze_token": TEST_UNSUBSCRIBE_TOKEN},
                           (("List-Unsubscribe", f"<{url}>"), ONE_CLICK),
                           ((TAG_PROMOTION, promotion.promotion_id), (TAG_TEST, "yes")))
    try:
        [result] = mail.sender().send_bulk(template, {"unsubscribe_url": "", "snooze_token": ""},
                                           (ONE_CLICK,),
                                           [entry], tags=((TAG_PROMOTION, promotion.promotion_id),))
    except (mail.ThrottledError, mail.QuotaExceededError):
        raise UnavailableError("SES refused the test send for now (its rate or daily quota). "
                               "Try again later.") from None
    if result.status != "sent":
        raise UnavailableError("SES did not accept the test send. Try again later.")
    return result.message_id


def _sender(promotion: Promotion) -> dict:
    """Who the promotion is from, as shown to members (a partner's name and privacy policy)."""
    if promotion.kind != "partner":
        return {"name": "eSmallOffice", "privacy_policy_url": None}
    partner = partners.get(promotion.partner_id)
    return {"name": partner.name, "privacy_policy_url": partner.privacy_policy_url}




def forecast(promotion_id: str) -> "quota.Forecast":
    """What sending the promotion now meets: its audience (less the members it already
    reached) against the account's 24-hour quota and rate, read afresh."""
    audience = _waiting(get(promotion_id))
    return quota.forecast(audience, quota.account(fresh=True), clock.now())


def _waiting(promotion: Promotion) -> int:
    """The promotion's audience less the members already in its ledger."""
    held = _in_ledger(promotion.promotion_id)
    return sum(1 for m in members.audience_ids(promotion.purpose) if m not in held)


def confirm_claim(promotion_id: str, member_id: str, message_id: str) -> bool:
    """Record SES's Send or Delivery event on a ledger entry still ``claimed`` (its worker died
    between SES and the ledger update); the reconciler then settles it as sent. An entry
    already settled, or absent (released, erased), is left as it is."""
    try:
        with storage_errors():
            Delivery(promotion_id, member_id).update(
                actions=[Delivery.confirmed_message_id.set(message_id)],
                condition=Delivery.status == "claimed")
    except UpdateError:
        return False
    return True


class Reconciled(NamedTuple):
    confirmed: int   # claims an SES event confirmed: now ``sent``
    resent: int      # claims without an event, sent again (once)
    failed: int      # claims resent once and still without an event: given up


def reconcile_claims(now: Optional[datetime] = None) -> Reconciled:
    """Settle the claims left ``claimed`` for over an hour by a worker that died: confirmed by
    an SES event → ``sent`` (and counted); no event → claimed again in place and sent again,
    once; resent and still no event → ``failed``, never a third message. Run by the stage's
    schedule and by ``promotions reconcile``."""
    now = now or clock.now()
    cutoff = now - RECONCILE_AFTER
    confirmed = resent = failed = 0
    with storage_errors():
        recent = [p for p in Promotion.scan(Promotion.status.is_in("sending", "sent", "paused"))
                  if p.window_started_at and p.window_started_at >= now - RECONCILE_HORIZON]
    for promotion in recent:
        with storage_errors():
            stale = list(Delivery.query(
                promotion.promotion_id, consistent_read=True,
                filter_condition=(Delivery.status == "claimed") & (Delivery.at < cutoff)))
        again = []
        for entry in stale:
            if entry.confirmed_message_id or entry.resent:
                outcome = _settle_claim(promotion, entry, now)
                confirmed += outcome == "sent"
                failed += outcome == "failed"
            else:
                again.append(entry)
        by_variant: dict = {}
        for entry in again:  # each is resent as the variant it was claimed for
            by_variant.setdefault(entry.variant, []).append(entry)
        for variant, entries in by_variant.items():
            for batch in batches(entries):
                # Each batch is claimed again in place under a new attempt, then sent: a
                # sweeper dying in between leaves its entries in the ledger, claimed and marked
                # resent, so the next run settles them as failed instead of losing them.
                attempt = uuid.uuid4().hex
                owned = [e.member_id for e in batch if _reclaim(e, attempt, now)]
                if owned:
                    resent += send_batch(promotion.promotion_id, owned, now=now, resend=True,
                                         attempt=attempt, variant=variant).delivered
    return Reconciled(confirmed, resent, failed)


def _settle_claim(promotion: Promotion, entry: Delivery, now: datetime) -> Optional[str]:
    """Settle one stale claim as ``sent`` (an event confirmed it) or ``failed`` (resent once,
    still unconfirmed), with its count in the same transaction. None when someone else
    settled it meanwhile."""
    outcome = "sent" if entry.confirmed_message_id else "failed"
    try:
        with storage_errors(), transaction() as tx:
            tx.save(Delivery(promotion.promotion_id, entry.member_id, status=outcome,
                             attempt=entry.attempt, at=now, resent=entry.resent,
                             message_id=entry.confirmed_message_id,
                             expires_at=now + LEDGER_TTL, variant=entry.variant),
                    condition=(Delivery.status == "claimed") & (Delivery.attempt == entry.attempt))
            figures = ((DeliveryCounts.delivered, *variant_delivered(entry.variant))
                       if outcome == "sent" else (DeliveryCounts.failed,))
            tx.update(DeliveryCounts(promotion.promotion_id),
                      actions=[figure.add(1) for figure in figures])
    except TransactWriteError as exc:
        if dynamo.cancelled_by_condition(exc):
            return None
        raise
    if outcome == "sent":
        _note_delivered(promotion, 1)
    else:
        _note_failed(promotion, 1)
    return outcome


def _reclaim(entry: Delivery, attempt: str, now: datetime) -> bool:
    """Take over a stale claim for its one resend: same entry, new attempt, marked resent."""
    try:
        with storage_errors():
            Delivery(entry.promotion_id, entry.member_id).update(
                actions=[Delivery.attempt.set(attempt), Delivery.resent.set(True),
                         Delivery.at.set(now)],
                condition=(Delivery.status == "claimed") & (Delivery.attempt == entry.attempt))
    except UpdateError as exc:
        if dynamo.condition_failed(exc):
            return False  # settled or taken over by someone else meanwhile
        raise
    return True
