"""Campaigns: a promotion's content, its review and its state.

A partner's promotion waits for the operator's review; eSO's own offers are created approved.
Content is checked to be text, partner HTML is cleaned to an allowlist, and a promotion goes
out only while its partner is active and shows a privacy policy.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Optional

from pynamodb.exceptions import UpdateError

from chalicelib import members, partners
from chalicelib.platform import clock
from chalicelib.platform.dynamo import storage_errors
from chalicelib.platform.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.platform.text import check_text
from chalicelib.platform.vocabulary import KIND_PURPOSE
from chalicelib.promotions.content import (
    MAX_LINK_LENGTH,
    MAX_LINKS,
    all_contents,
    clean_html,
    find_links,
    improper_links,
    improper_text_links,
)
from chalicelib.promotions.limits import (
    MAX_HTML,
    MAX_STORED_BYTES,
    MAX_SUBJECT,
    MAX_TEXT,
    MAX_VARIANTS,
)
from chalicelib.promotions.models import Promotion, VariantContent

PENDING = "pending"       # a promotion's review_queue while it waits for review
MAX_REASON = 500          # characters of a rejection's reason, which the partner reads
SENDS = "sends"           # a promotion's ``activity`` once it is scheduled or sent
# A scheduled send starts at least this far ahead (the sweeper looks every 5 minutes, so an
# earlier time would start no sooner than "now"), and at most this far.
MIN_SCHEDULE_AHEAD = timedelta(minutes=10)
MAX_SCHEDULE_AHEAD = timedelta(days=90)


def _check_content(subject: str, text: str, html: Optional[str], prefix: str = "") -> None:
    check_text(subject, prefix + "subject")
    check_text(text, prefix + "text", multiline=True)
    check_text(html or "", prefix + "html", multiline=True)
    if not subject.strip() or len(subject) > MAX_SUBJECT or any(c in subject for c in "\r\n"):
        raise ValidationError(f"The subject needs 1 to {MAX_SUBJECT} characters on one line.",
                              field=prefix + "subject")
    if not text.strip() or len(text) > MAX_TEXT:
        raise ValidationError(f"The text needs 1 to {MAX_TEXT} characters.", field=prefix + "text")
    if html is not None and (not html.strip() or len(html) > MAX_HTML):
        raise ValidationError(f"The html needs 1 to {MAX_HTML} characters.", field=prefix + "html")
    for field, value in (("subject", subject), ("text", text), ("html", html or "")):
        if "{{" in value or "}}" in value:
            raise ValidationError("Remove the double braces: they are reserved for the unsubscribe link.",
                                  field=prefix + field)
    improper = improper_text_links(text)
    if improper:
        raise ValidationError(_improper_message("text", improper[0]), field=prefix + "text")


def _cleaned(html: str, field: str) -> str:
    html = clean_html(html)
    if not html.strip():
        raise ValidationError(f"The {field} has no content left once cleaned. Send text, links "
                              "and basic formatting.", field=field)
    improper = improper_links(html)
    if improper:
        raise ValidationError(_improper_message(field, improper[0]), field=field)
    return html


def _improper_message(field: str, link: str) -> str:
    shown = link[:80].encode("unicode_escape").decode("ascii")
    return (f"Write every link of the {field} as a full address starting with https:// (or "
            f"http://, mailto:), without spaces, backslashes or a user name: '{shown}' is not "
            f"one.")


def _check_variants(variants, html: Optional[str]) -> Optional[list]:
    """2-3 A/B variants, each giving its own subject, text and/or HTML, checked like the
    promotion's own; None when there are none."""
    if variants is None:
        return None
    if not isinstance(variants, list) or not 2 <= len(variants) <= MAX_VARIANTS:
        raise ValidationError(f"Give 2 to {MAX_VARIANTS} variants, or none.", field="variants")
    checked = []
    for i, variant in enumerate(variants):
        where = f"variants[{i}]"
        if (not isinstance(variant, dict) or not variant
                or set(variant) - {"subject", "text", "html"}
                or not all(isinstance(v, str) for v in variant.values())):
            raise ValidationError("Each variant is an object with its own subject, text and/or "
                                  "html (strings).", field=where)
        subject, text, own_html = variant.get("subject"), variant.get("text"), variant.get("html")
        _check_content(subject if subject is not None else "x",
                       text if text is not None else "x", own_html, prefix=f"{where}.")
        if text is not None and own_html is None and html is not None:
            raise ValidationError("This variant changes the text but the promotion has HTML, "
                                  "which is what most members see: give the variant its own "
                                  "html too.", field=f"{where}.html")
        checked.append(VariantContent(
            subject=subject.strip() if subject is not None else None, text=text,
            html=_cleaned(own_html, f"{where}.html") if own_html is not None else None))
    return checked


def _check_stored(promotion: Promotion) -> None:
    """Its links (found once, stored with it) and its size: content and links in one item."""
    field = "variants" if promotion.variants else ("html" if promotion.html else "text")
    contents = all_contents(promotion)
    if promotion.variants and len(set(contents)) < len(contents):
        raise ValidationError("Each variant must differ from the others.", field="variants")
    links = find_links(contents)
    if len(links) > MAX_LINKS:
        raise ValidationError(f"Link to at most {MAX_LINKS} different addresses.", field=field)
    if any(len(link) > MAX_LINK_LENGTH for link in links):
        raise ValidationError(f"A link may have at most {MAX_LINK_LENGTH} characters.",
                              field=field)
    promotion.links = links or None
    parts = [promotion.subject, promotion.text, promotion.html or "", *links,
             *(value or "" for v in promotion.variants or () for value in (v.subject, v.text, v.html))]
    if sum(len(part.encode("utf-8", "surrogatepass")) for part in parts) > MAX_STORED_BYTES:
        raise ValidationError(f"The promotion is too large: at most {MAX_STORED_BYTES:,} bytes of "
                              "subjects, texts, HTML and links in all.", field=field)


def create(kind: str, subject: str, text: str, html: Optional[str] = None,
           partner_id: Optional[str] = None, now: Optional[datetime] = None,
           variants: Optional[list] = None, topics: Optional[list] = None) -> Promotion:
    """A new promotion: a partner's waits for review, eSO's own offer is approved at once.
    ``variants``: 2-3 dicts of ``subject``, ``text`` and/or ``html`` for an A/B test.

    A partner's promotion may name topics (declared ones, ``members.topics``): it then goes
    to the members who take one of them; without topics, to every member who takes partner
    promotions. eSO's offers have no topics (their consent is all or nothing)."""
    _check_content(subject, text, html)
    if topics is not None:
        if kind != "partner":
            raise ValidationError("Only a partner's promotion names topics.", field="topics")
        if not topics:
            raise ValidationError("Name at least one topic, or leave topics out to reach every "
                                  "member who takes partner promotions.", field="topics")
        topics = members.topics.require_known(topics)
    if html is not None:
        html = _cleaned(html, "html")
    promotion = Promotion(
        uuid.uuid4().hex, kind=kind, purpose=KIND_PURPOSE[kind], partner_id=partner_id,
        subject=subject.strip(), text=text, html=html, created_at=now or clock.now(),
        topics=set(topics) if topics else None,
        status="pending_review" if kind == "partner" else "approved",
        review_queue=PENDING if kind == "partner" else None,
        variants=_check_variants(variants, html))
    _check_stored(promotion)
    with storage_errors():
        promotion.save(condition=Promotion.promotion_id.does_not_exist())
    return promotion


def get(promotion_id: str) -> Promotion:
    if not isinstance(promotion_id, str) or not 1 <= len(promotion_id) <= 64:
        raise NotFoundError("There is no such promotion.")
    with storage_errors():
        try:
            return Promotion.get(promotion_id, consistent_read=True)
        except Promotion.DoesNotExist:
            raise NotFoundError("There is no such promotion.") from None


def list_all(status: Optional[str] = None) -> list:
    """Every promotion, newest first (an operator's view; the table stays small)."""
    with storage_errors():
        items = list(Promotion.scan())
    if status:
        items = [p for p in items if p.status == status]
    return sorted(items, key=lambda p: p.created_at, reverse=True)


def review_queue() -> list:
    """Promotions waiting for review, oldest first (one Query of a sparse index)."""
    with storage_errors():
        return list(Promotion.awaiting_review.query(PENDING))


def review_count() -> int:
    """How many promotions wait for review (the same Query, counting only: no items read
    back)."""
    with storage_errors():
        return Promotion.awaiting_review.count(PENDING)


def _transition(promotion_id: str, wanted: str, allowed_from: tuple, now=None,
                extra: tuple = ()) -> Promotion:
    promotion = get(promotion_id)
    try:
        with storage_errors():
            promotion.update(actions=[Promotion.status.set(wanted),
                                      Promotion.reviewed_at.set(now or clock.now()),
                                      Promotion.review_queue.remove(), *extra],
                             condition=Promotion.status.is_in(*allowed_from))
    except UpdateError:
        raise ConflictError(f"The promotion is {promotion.status}: it cannot become {wanted}.",
                            code="invalid_state") from None
    return promotion


def reject(promotion_id: str, now=None, reason: Optional[str] = None) -> Promotion:
    """Reject a pending (or scheduled, not yet started) promotion; ``reason`` (optional from
    the CLI) is shown to the partner."""
    extra = (Promotion.send_at.remove(), Promotion.activity.remove(),
             Promotion.activity_at.remove())
    if reason is not None:
        reason = " ".join(check_text(reason, "reason", multiline=True).split())
        if not reason or len(reason) > MAX_REASON:
            raise ValidationError(f"Give the partner a reason of 1 to {MAX_REASON} characters.",
                                  field="reason")
        extra += (Promotion.review_reason.set(reason),)
    return _transition(promotion_id, "rejected", ("pending_review", "scheduled"), now, extra)


def _check_sendable(promotion: Promotion) -> None:
    if promotion.kind == "partner" and not partner_may_send(promotion.partner_id):
        raise ConflictError("The partner is disabled or has no privacy-policy URL to show members, so its "
                            "promotions cannot be sent. Give it a privacy-policy URL first.", code="partner_not_sendable")


def approve(promotion_id: str, now=None) -> Promotion:
    """Approve a pending promotion (or one scheduled for later: it is then sent now); the
    caller starts the sending."""
    now = now or clock.now()
    _check_sendable(get(promotion_id))
    return _transition(promotion_id, "approved", ("pending_review", "scheduled"), now,
                       (Promotion.send_at.remove(), Promotion.activity.set(SENDS),
                        Promotion.activity_at.set(now)))


def check_send_at(send_at: datetime, now: datetime) -> datetime:
    """A time a promotion may be scheduled for: in UTC, 10 minutes to 90 days ahead."""
    if send_at.tzinfo is None:
        raise ValidationError("Give the time in UTC.", field="send_at")
    if send_at < now + MIN_SCHEDULE_AHEAD:
        raise ValidationError("Choose a time at least 10 minutes from now (UTC), or send it "
                              "now.", field="send_at")
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError("Choose a time within the next 90 days.", field="send_at")
    return send_at.replace(second=0, microsecond=0)


def schedule(promotion_id: str, send_at: datetime, now=None) -> Promotion:
    """Approve a pending promotion to be sent at ``send_at`` (or move the time of one already
    scheduled): the stage's sweeper starts it when the time comes."""
    now = now or clock.now()
    send_at = check_send_at(send_at, now)
    _check_sendable(get(promotion_id))
    promotion = _transition(promotion_id, "scheduled", ("pending_review", "scheduled"), now,
                            (Promotion.send_at.set(send_at), Promotion.activity.set(SENDS),
                             Promotion.activity_at.set(send_at)))
    return promotion


def partner_may_send(partner_id: Optional[str]) -> bool:
    """A partner's promotion goes out only while the partner is active and has a privacy
    policy to link (the policy tells members to read it)."""
    try:
        partner = partners.get_active(partner_id)
    except NotFoundError:
        return False
    return bool(partner.privacy_policy_url)
