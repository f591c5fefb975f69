"""Promotional e-mail (SPEC §5): only to members eligible at the moment of sending, once each.

Flow: a promotion is created (a partner's waits for the operator's review; eSO's own offers
are created approved), then *planned*: the sparse audience index of its purpose (only verified,
consenting, unsuppressed members carry the attribute) is paged into batches of up to 50
member ids. Each batch goes to the send worker — through SQS on AWS, in-process on the local
stack — which, right before calling SES:

1. reads the batch's members with one strongly consistent BatchGetItem and keeps those who
   hold the consent, are verified, exist and are not suppressed *now*;
2. claims each of them in the delivery ledger with a conditional put (absent → ``claimed``),
   so a retried or duplicated batch never sends twice;
3. sends one SES v2 SendBulkEmail with the promotion's template, a per-recipient one-click
   unsubscribe link (RFC 8058 headers) and the configuration set;
4. marks each entry ``sent`` or ``failed``; throttled or transiently failed entries release
   their claim and are retried with backoff, then the batch is raised back to SQS.

A worker that dies after a claim and before SES answered leaves that member ``claimed``; a
retry does not send to them again (at most once is the promise, duplicates are worse).
"""
from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator, NamedTuple, Optional

from chalicelib import consent, observability, stats
from chalicelib.consent import Provenance
from chalicelib.crypto import sign, verify_signature
from chalicelib.db import storage_errors, transaction
from chalicelib.errors import ConflictError, NotFoundError, UnavailableError, ValidationError
from chalicelib.models import Delivery, Member, Promotion
from chalicelib.settings import get_settings
from chalicelib.text import check_text

BATCH_SIZE = 50                  # SES SendBulkEmail takes up to 50 destinations
LEDGER_TTL = timedelta(days=400)
MAX_SUBJECT = 150
MAX_TEXT = 20_000
MAX_HTML = 100_000
SES_RETRIES = 5
KIND_PURPOSE = {"partner": "partner_promotions", "offer": "offers"}
PURPOSE_LABEL = {
    "offers": "special offers and services from eSmallOffice",
    "partner_promotions": "product promotions from eSmallOffice's marketing partners",
}
THROTTLED = {"TooManyRequestsException", "LimitExceededException", "Throttling",
             "ThrottlingException", "SendingPausedException"}
RETRY_STATUSES = {"ACCOUNT_THROTTLED", "TRANSIENT_FAILURE", "ACCOUNT_DAILY_QUOTA_EXCEEDED"}


class BatchResult(NamedTuple):
    delivered: int
    skipped: int
    failed: int


def _now(now=None) -> datetime:
    return now or datetime.now(timezone.utc)


# --- creating and reviewing ----------------------------------------------------------------------


def _check_content(subject: str, text: str, html: Optional[str]) -> None:
    check_text(subject, "subject")
    check_text(text, "text", multiline=True)
    check_text(html or "", "html", multiline=True)
    if not subject.strip() or len(subject) > MAX_SUBJECT or any(c in subject for c in "\r\n"):
        raise ValidationError(f"the subject needs 1 to {MAX_SUBJECT} characters on one line",
                              field="subject")
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValidationError(f"the text needs 1 to {MAX_TEXT} characters", field="text")
    if html is not None and (not html.strip() or len(html) > MAX_HTML):
        raise ValidationError(f"the html needs 1 to {MAX_HTML} characters", field="html")
    for field, value in (("subject", subject), ("text", text), ("html", html or "")):
        if "{{" in value or "}}" in value:
            raise ValidationError("double braces are reserved for the unsubscribe link",
                                  field=field)


def clean_html(html: str) -> str:
    """Partner HTML as it may appear in eSO's mail: an allowlist of tags and attributes (nh3),
    re-serialised so no comment or open tag can hide the footer (unsubscribe link, postal
    address, privacy notice), and no images or styles: a remote image would tell the partner
    who opened the mail and when."""
    import nh3

    return nh3.clean(html, tags=nh3.ALLOWED_TAGS - {"img", "area", "map"},
                     url_schemes={"https", "http", "mailto"})


def create(kind: str, subject: str, text: str, html: Optional[str] = None,
           partner_id: Optional[str] = None, now: Optional[datetime] = None) -> Promotion:
    """A new promotion: a partner's waits for review, eSO's own offer is approved at once."""
    _check_content(subject, text, html)
    if html is not None:
        html = clean_html(html)
        if not html.strip():
            raise ValidationError("the html has no content left once cleaned", field="html")
    promotion = Promotion(
        uuid.uuid4().hex, kind=kind, purpose=KIND_PURPOSE[kind], partner_id=partner_id,
        subject=subject.strip(), text=text, html=html, created_at=_now(now),
        status="pending_review" if kind == "partner" else "approved")
    with storage_errors():
        promotion.save(condition=Promotion.promotion_id.does_not_exist())
    return promotion


def get(promotion_id: str) -> Promotion:
    if not isinstance(promotion_id, str) or not 1 <= len(promotion_id) <= 64:
        raise NotFoundError("no such promotion")
    with storage_errors():
        try:
            return Promotion.get(promotion_id, consistent_read=True)
        except Promotion.DoesNotExist:
            raise NotFoundError("no such promotion") from None


def list_all(status: Optional[str] = None) -> list:
    """Every promotion, newest first (an operator's view; the table stays small)."""
    with storage_errors():
        items = list(Promotion.scan())
    if status:
        items = [p for p in items if p.status == status]
    return sorted(items, key=lambda p: p.created_at, reverse=True)


def _transition(promotion_id: str, wanted: str, allowed_from: tuple, now=None) -> Promotion:
    from pynamodb.exceptions import UpdateError

    promotion = get(promotion_id)
    try:
        with storage_errors():
            promotion.update(actions=[Promotion.status.set(wanted),
                                      Promotion.reviewed_at.set(_now(now))],
                             condition=Promotion.status.is_in(*allowed_from))
    except UpdateError:
        raise ConflictError(f"the promotion is {promotion.status}, it cannot become {wanted}",
                            code="invalid_state") from None
    return promotion


def reject(promotion_id: str, now=None) -> Promotion:
    return _transition(promotion_id, "rejected", ("pending_review",), now)


def approve(promotion_id: str, now=None) -> Promotion:
    promotion = get(promotion_id)
    if promotion.kind == "partner" and not partner_may_send(promotion.partner_id):
        raise ConflictError("the partner is disabled or has no privacy-policy URL to show "
                            "members; its promotions cannot be sent", code="partner_not_sendable")
    return _transition(promotion_id, "approved", ("pending_review",), now)


def partner_may_send(partner_id: Optional[str]) -> bool:
    """A partner's promotion goes out only while the partner is active and has a privacy
    policy to link (the policy tells members to read it)."""
    from chalicelib import partners

    try:
        partner = partners.get_active(partner_id)
    except NotFoundError:
        return False
    return bool(partner.privacy_policy_url)


def status_json(promotion: Promotion) -> dict:
    """What a partner may see of its promotion: status and aggregate counts, never who."""
    k = get_settings().k_threshold
    return {"id": promotion.promotion_id, "status": promotion.status,
            "subject": promotion.subject, "created_at": promotion.created_at.isoformat(),
            "counts": {name: stats.suppress(int(getattr(promotion, name)), k)
                       for name in ("delivered", "skipped", "failed")}}


# --- planning ------------------------------------------------------------------------------------


def audience(purpose: str) -> Iterator[str]:
    """Member ids in the sparse audience index of ``purpose``, page by page (flat memory)."""
    index = Member.offers_audience if purpose == "offers" else Member.partner_promotions_audience
    for shard in range(consent.AUDIENCE_SHARDS):
        with storage_errors():
            for item in index.query(str(shard), page_size=1000):
                yield item.member_id


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
    ``send`` is given) they are sent in-process by the same worker code.
    """
    from pynamodb.exceptions import UpdateError

    promotion = get(promotion_id)
    try:
        with storage_errors():
            promotion.update(actions=[Promotion.status.set("sending")],
                             condition=Promotion.status.is_in("approved", "sending"))
    except UpdateError:
        raise ConflictError(f"the promotion is {promotion.status}; only an approved promotion "
                            "is sent", code="invalid_state") from None
    if send is None:
        send = _enqueue if get_settings().send_queue else _send_now
    count = 0
    for batch in batches(audience(promotion.purpose), batch_size):
        send(promotion_id, batch)
        count += 1
        progress(count)
    with storage_errors():
        promotion.update(actions=[Promotion.status.set("sent")])
    return count


def _enqueue(promotion_id: str, member_ids: list) -> None:
    from chalicelib.aws import sqs

    client = sqs()
    url = client.get_queue_url(QueueName=get_settings().send_queue)["QueueUrl"]
    client.send_message(QueueUrl=url,
                       MessageBody=json.dumps({"promotion_id": promotion_id,
                                               "member_ids": member_ids}))


def _send_now(promotion_id: str, member_ids: list) -> None:
    send_batch(promotion_id, member_ids)


def handle_queue_message(body: str) -> BatchResult:
    """The SQS worker's entry: one batch. A malformed message raises (→ dead-letter queue)."""
    data = json.loads(body)
    if (not isinstance(data, dict) or not isinstance(data.get("promotion_id"), str)
            or not isinstance(data.get("member_ids"), list)
            or not all(isinstance(m, str) for m in data["member_ids"])
            or len(data["member_ids"]) > BATCH_SIZE):
        raise ValueError("malformed send batch")
    return send_batch(data["promotion_id"], data["member_ids"])


# --- sending -------------------------------------------------------------------------------------


def eligible(member: Optional[Member], purpose: str) -> bool:
    """SPEC §5: consent for the purpose, verified, not deleted, not suppressed — now."""
    return (member is not None and bool(member.email_verified) and not member.suppressed
            and consent.is_granted(member, purpose))


def _read_members(member_ids: list) -> dict:
    with storage_errors():
        return {m.member_id: m for m in Member.batch_get(member_ids, consistent_read=True)}


def _claim(promotion_id: str, member_ids: list, attempt: str, now: datetime) -> set:
    """Claim the ledger entries of ``member_ids`` that nobody holds yet; returns those claimed.

    One transaction of conditional puts per batch (one call instead of 50); members already in
    the ledger make it cancel with their reasons, and it is retried without them.
    """
    from pynamodb.exceptions import TransactWriteError

    wanted = list(member_ids)
    for _ in range(len(member_ids) + 3):
        if not wanted:
            return set()
        try:
            with storage_errors(), transaction() as tx:
                for member_id in wanted:
                    tx.save(Delivery(promotion_id, member_id, status="claimed", attempt=attempt,
                                     at=now, expires_at=now + LEDGER_TTL),
                            condition=Delivery.member_id.does_not_exist())
            return set(wanted)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            taken = {wanted[i] for i, r in enumerate(reasons)
                     if r is not None and r.code == "ConditionalCheckFailed"}
            if not reasons or not taken and not any(
                    r is not None and r.code == "TransactionConflict" for r in reasons):
                raise
            wanted = [m for m in wanted if m not in taken]
    raise UnavailableError("the delivery ledger is busy; the batch will be retried")


def _release(promotion_id: str, member_ids: list, attempt: str) -> None:
    from pynamodb.exceptions import DeleteError

    for member_id in member_ids:
        try:
            with storage_errors():
                Delivery(promotion_id, member_id).delete(
                    condition=(Delivery.attempt == attempt) & (Delivery.status == "claimed"))
        except DeleteError:
            pass  # no longer ours: leave it


def _mark(promotion_id: str, outcomes: dict, attempt: str, now: datetime) -> None:
    """member id → (status, message id) for entries SES answered, in batched writes."""
    with storage_errors(), Delivery.batch_write() as batch:
        for member_id, (status, message_id) in outcomes.items():
            batch.save(Delivery(promotion_id, member_id, status=status, attempt=attempt, at=now,
                                message_id=message_id, expires_at=now + LEDGER_TTL))


def send_batch(promotion_id: str, member_ids: list, now: Optional[datetime] = None,
               after_send: Optional[Callable] = None) -> BatchResult:
    """Send one batch (see the module docstring). Safe to run again for the same batch."""
    promotion = get(promotion_id)
    if promotion.status not in ("approved", "sending", "sent") or (
            promotion.kind == "partner" and not partner_may_send(promotion.partner_id)):
        return BatchResult(0, len(member_ids), 0)
    now = _now(now)
    attempt = uuid.uuid4().hex
    members = _read_members(member_ids)
    recipients = [members[m] for m in member_ids if eligible(members.get(m), promotion.purpose)]
    ours = _claim(promotion_id, [m.member_id for m in recipients], attempt, now)
    claimed = [m for m in recipients if m.member_id in ours]
    skipped = len(member_ids) - len(claimed)
    delivered = failed = 0
    pending = claimed
    # Claims SES has certainly not sent: only these may be released when something fails.
    # While a call is in flight its entries are uncertain and stay claimed (at most once).
    unsent = {m.member_id for m in claimed}
    try:
        for retry in range(SES_RETRIES + 1):
            if not pending:
                break
            unsent -= {m.member_id for m in pending}
            outcomes, retry_ids = _send_bulk(promotion, pending)
            unsent |= retry_ids
            _mark(promotion_id, outcomes, attempt, now)
            delivered += sum(1 for status, _ in outcomes.values() if status == "sent")
            failed += sum(1 for status, _ in outcomes.values() if status == "failed")
            if after_send:
                after_send(delivered)
            pending = [m for m in pending if m.member_id in retry_ids]
            if pending:
                _backoff(retry)
        if pending:
            raise UnavailableError("SES keeps throttling; the batch will be retried")
    except BaseException:
        _release(promotion_id, sorted(unsent), attempt)
        raise
    finally:
        _count(promotion, delivered, skipped, failed)
    return BatchResult(delivered, skipped, failed)


def _backoff(retry: int) -> None:
    time.sleep(min(2.0, 0.05 * (2 ** retry)) * random.uniform(0.5, 1.0))


def _count(promotion: Promotion, delivered: int, skipped: int, failed: int) -> None:
    if not (delivered or skipped or failed):
        return
    with storage_errors():
        promotion.update(actions=[Promotion.delivered.add(delivered),
                                  Promotion.skipped.add(skipped), Promotion.failed.add(failed)])
    if delivered:
        stats.increment("promotion_deliveries", dimension=promotion.kind, amount=delivered,
                        shards=4)
        observability.count("PromotionsSent", delivered)


_last_send = [0.0]


def _pace(count: int) -> None:
    """Keep to the configured send rate (messages per second) across calls of this container."""
    interval = count / get_settings().send_rate
    wait = _last_send[0] + interval - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _last_send[0] = time.monotonic()


def _send_bulk(promotion: Promotion, recipients: list) -> tuple:
    """One SendBulkEmail; returns (member id → (status, message id), ids to retry)."""
    from botocore.exceptions import ClientError

    from chalicelib.aws import sesv2

    settings = get_settings()
    template = ensure_template(promotion)
    request = {
        "FromEmailAddress": settings.mail_from,
        "DefaultContent": {"Template": {
            "TemplateName": template, "TemplateData": json.dumps({"unsubscribe_url": ""}),
            "Headers": [{"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}],
        }},
        "BulkEmailEntries": [_entry(promotion, member) for member in recipients],
    }
    if settings.ses_configuration_set and not settings.is_local:
        request["ConfigurationSetName"] = settings.ses_configuration_set
    _pace(len(recipients))
    try:
        results = sesv2().send_bulk_email(**request)["BulkEmailEntryResults"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in THROTTLED:
            return {}, {m.member_id for m in recipients}
        raise
    outcomes, retry = {}, set()
    for member, result in zip(recipients, results):
        if result["Status"] == "SUCCESS":
            outcomes[member.member_id] = ("sent", result.get("MessageId"))
        elif result["Status"] in RETRY_STATUSES:
            retry.add(member.member_id)
        else:
            outcomes[member.member_id] = ("failed", None)
    return outcomes, retry


def _entry(promotion: Promotion, member: Member) -> dict:
    url = unsubscribe_url(member.member_id, promotion.purpose)
    return {
        "Destination": {"ToAddresses": [member.email]},
        "ReplacementEmailContent": {"ReplacementTemplate": {
            "ReplacementTemplateData": json.dumps({"unsubscribe_url": url})}},
        "ReplacementHeaders": [{"Name": "List-Unsubscribe", "Value": f"<{url}>"},
                               {"Name": "List-Unsubscribe-Post",
                                "Value": "List-Unsubscribe=One-Click"}],
    }


def template_name(promotion: Promotion) -> str:
    return f"eso-{get_settings().stage}-promotion-{promotion.promotion_id}"


_templates: set = set()


def ensure_template(promotion: Promotion) -> str:
    """The promotion's SES template (created once; 'already exists' is success)."""
    from botocore.exceptions import ClientError

    from chalicelib.aws import sesv2

    name = template_name(promotion)
    if name in _templates:
        return name
    subject, text, html = render_content(promotion)
    try:
        sesv2().create_email_template(TemplateName=name, TemplateContent={
            "Subject": subject, "Text": text, "Html": html})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
            raise
    _templates.add(name)
    return name


def render_content(promotion: Promotion) -> tuple:
    """Subject, text and HTML of the template, with the visible unsubscribe link and address."""
    from markupsafe import Markup, escape

    from chalicelib.web.render import render_text

    settings = get_settings()
    sender = _sender(promotion)
    context = {"promotion": promotion, "sender": sender, "postal_address": settings.postal_address,
               "purpose_label": PURPOSE_LABEL[promotion.purpose], "base_url": settings.base_url,
               "body_html": Markup(promotion.html) if promotion.html else
               Markup("<br>\n").join(escape(line) for line in promotion.text.split("\n"))}
    return (promotion.subject, render_text("email/promotion.txt", **context),
            render_text("email/promotion.html", **context))


def _sender(promotion: Promotion) -> dict:
    """Who the promotion is from, as shown to members (a partner's name and privacy policy)."""
    if promotion.kind != "partner":
        return {"name": "eSmallOffice", "privacy_policy_url": None}
    from chalicelib import partners

    partner = partners.get(promotion.partner_id)
    return {"name": partner.name, "privacy_policy_url": partner.privacy_policy_url}


# --- one-click unsubscribe -----------------------------------------------------------------------

_PURPOSE_CODES = {"offers": "o", "partner_promotions": "p"}
_CODE_PURPOSES = {v: k for k, v in _PURPOSE_CODES.items()}


def unsubscribe_token(member_id: str, purpose: str) -> str:
    """``<member id>.<purpose code>.<HMAC>``: names a member and a purpose, never an address."""
    message = f"{member_id}.{_PURPOSE_CODES[purpose]}"
    return f"{message}.{sign('unsubscribe', message)}"


def unsubscribe_url(member_id: str, purpose: str) -> str:
    return f"{get_settings().base_url}/unsubscribe?token={unsubscribe_token(member_id, purpose)}"


def read_unsubscribe_token(token: Optional[str]) -> tuple:
    """(member id, purpose) of a genuine token; ValidationError otherwise."""
    parts = (token or "").split(".")
    if (len(parts) != 3 or len(token) > 200 or parts[1] not in _CODE_PURPOSES
            or not verify_signature("unsubscribe", f"{parts[0]}.{parts[1]}", parts[2])):
        raise ValidationError("this unsubscribe link is not valid", code="invalid_token",
                              field="token")
    return parts[0], _CODE_PURPOSES[parts[1]]


def unsubscribe(token: str) -> str:
    """Withdraw the token's purpose at once (source ``unsubscribe_link``); returns the purpose.

    A deleted member's token changes nothing and still answers as done.
    """
    member_id, purpose = read_unsubscribe_token(token)
    try:
        consent.change(member_id, {purpose: False}, Provenance("unsubscribe_link", "/unsubscribe"))
    except NotFoundError:
        pass
    return purpose


# --- bounces and complaints ----------------------------------------------------------------------


def handle_ses_event(message: str) -> int:
    """An SES event from the configuration set's SNS topic. Permanent bounces and complaints
    suppress the address and withdraw its consents; transient bounces change nothing.
    Returns how many members were suppressed."""
    try:
        event = json.loads(message)
    except ValueError:
        raise ValueError("not an SES event") from None
    kind = event.get("eventType") or event.get("notificationType")
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return 0
        addresses = [r.get("emailAddress") for r in bounce.get("bouncedRecipients", [])]
        source = "bounce"
    elif kind == "Complaint":
        addresses = [r.get("emailAddress") for r in
                     (event.get("complaint") or {}).get("complainedRecipients", [])]
        source = "complaint"
    else:
        return 0
    return sum(suppress(address, source) for address in addresses if isinstance(address, str))


def suppress(address: str, source: str) -> bool:
    """Stop all promotional mail to an address: suppressed flag, consents withdrawn."""
    from chalicelib.members import _member_by_email, normalize_email

    try:
        member = _member_by_email(normalize_email(address))
    except ValidationError:
        return False
    if member is None:
        return False
    from pynamodb.exceptions import UpdateError

    try:
        with storage_errors():
            member.update(actions=[Member.suppressed.set(True), Member.aud_offers.remove(),
                                   Member.aud_partner_promotions.remove()],
                          condition=Member.member_id.exists())  # never recreate a deleted member
    except UpdateError:
        return False
    granted = {p: False for p in KIND_PURPOSE.values() if consent.is_granted(member, p)}
    if granted:
        consent.change(member.member_id, granted, Provenance(source, page="ses-event"))
    stats.record(f"{source}s")
    observability.count("Bounces" if source == "bounce" else "Complaints")
    return True
