"""Referrals to marketing partners: clicks, the transactions partners report, their reports.

The flow of server-to-server affiliate tracking. ``/go/<partner>`` records a click and sends
the browser to the partner's registered landing URL with ``eso_click=<click id>``; the
partner keeps that id (its own cookie) and, when the visitor buys within the attribution
window, reports ``{click_id, order_id, amount, currency}``.

- A report costs two DynamoDB calls: a consistent read of the click, then one TransactWrite
  holding the transaction (conditional on its order id being new) and the daily counters.
  Counters therefore agree exactly with the transactions: a retry or a duplicate adds nothing.
- Deduplication is by (partner, order id), forever (transactions have no TTL): the same
  request again answers with the stored transaction; other content under that order id is a
  conflict. Reversals are recorded on the transaction and net out of the counters.
- Partners see their own transactions and aggregate counts only. Counts below K are
  suppressed (``stats.suppress``); revenue is the partner's own reported money.
- A member sees the clicks made while signed in and the transactions attributed to them;
  erasure removes the member (and the visitor hash) from those records.
"""
from __future__ import annotations

import base64
import json
import random
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib import money, partners, stats
from chalicelib.crypto import new_token, sign, verify_signature
from chalicelib.db import cancelled_by_condition, storage_errors, transaction
from chalicelib.errors import (
    ConflictError, NotFoundError, UnavailableError, UnprocessableError, ValidationError,
)
from chalicelib.models import PartnerTransaction, ReferralClick

ATTRIBUTION_WINDOW = timedelta(days=30)
# Clicks outlive the window so a late report of a sale inside it still finds its click.
CLICK_TTL = ATTRIBUTION_WINDOW + timedelta(days=15)
CLOCK_SKEW = timedelta(minutes=2)
CLICK_PARAM = "eso_click"
CLICK_SHARDS = 8
TXN_SHARDS = 4
MAX_ATTEMPTS = 8
MAX_REPORT_DAYS = 366
MAX_PAGE = 100
DEFAULT_PAGE = 50
REPORTED, REVERSED = "reported", "reversed"
CLICK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_REASON = 200


def _now(now):
    return now or datetime.now(timezone.utc)


# --- clicks --------------------------------------------------------------------------------------


def landing_url_with_click(landing_url: str, click_id: str) -> str:
    """The partner's registered URL with ``eso_click`` added; its own query and fragment kept."""
    parts = urlsplit(landing_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != CLICK_PARAM]
    query.append((CLICK_PARAM, click_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def record_click(partner_id: str, visitor_id: str, member_id: str | None = None,
                 now: datetime | None = None) -> str:
    """Record a referral click; returns where to send the browser (never from the request)."""
    now = _now(now)
    partner = partners.get_active(partner_id)
    click_id = new_token(16)
    click = ReferralClick(click_id, partner_id=partner.partner_id,
                          visitor_hash=sign("referral-visitor", visitor_id),
                          member_id=member_id, clicked_at=now, expires_at=now + CLICK_TTL)
    with storage_errors():
        click.save(condition=ReferralClick.click_id.does_not_exist())
    stats.record("referral_clicks", dimension=partner.partner_id, shards=CLICK_SHARDS, now=now)
    return landing_url_with_click(partner.landing_url, click_id)


# --- transactions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A partner's transaction report, as sent (validated by ``report_transaction``)."""

    click_id: str
    order_id: str
    amount: str
    currency: str
    occurred_at: str | None = None


def parse_instant(text: str, field: str) -> datetime:
    """An ISO 8601 date-time with an offset (``2026-03-01T12:00:00Z``), as UTC."""
    try:
        value = datetime.fromisoformat(text) if isinstance(text, str) and len(text) <= 40 else None
    except ValueError:
        value = None
    if value is not None and value.tzinfo is not None and "T" in text:
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
            pass
    raise ValidationError(f"{field} must be an ISO 8601 date-time with a time zone, "
                          f"such as 2026-03-01T12:00:00Z", code=f"invalid_{field}", field=field)


def check_order_id(order_id: str) -> str:
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        raise ValidationError("order_id has 1-64 characters: letters, digits and . _ : - "
                              "(starting with a letter or digit)", code="invalid_order_id",
                              field="order_id")
    return order_id


def _transaction_item(partner_id: str, report: Report, now: datetime) -> PartnerTransaction:
    if not isinstance(report.click_id, str) or not CLICK_ID.match(report.click_id):
        raise ValidationError("click_id is the eso_click value of the referral",
                              code="invalid_click_id", field="click_id")
    check_order_id(report.order_id)
    amount, minor = money.parse_amount(report.amount, report.currency)
    occurred_at = now
    if report.occurred_at is not None:
        occurred_at = parse_instant(report.occurred_at, "occurred_at")
        if occurred_at > now + CLOCK_SKEW:
            raise ValidationError("occurred_at is in the future", code="invalid_occurred_at",
                                  field="occurred_at")
    return PartnerTransaction(partner_id, report.order_id, click_id=report.click_id,
                              amount=amount, currency=report.currency, amount_minor=minor,
                              occurred_at=occurred_at, reported_at=now, status=REPORTED)


def _same_content(stored: PartnerTransaction, wanted: PartnerTransaction, report: Report) -> bool:
    same = (stored.click_id == wanted.click_id and stored.currency == wanted.currency
            and int(stored.amount_minor) == int(wanted.amount_minor))
    if report.occurred_at is not None:
        same = same and stored.occurred_at == wanted.occurred_at
    return same


def _stored(partner_id: str, order_id: str) -> PartnerTransaction | None:
    with storage_errors():
        try:
            return PartnerTransaction.get(partner_id, order_id, consistent_read=True)
        except PartnerTransaction.DoesNotExist:
            return None


def _usable_click(partner_id: str, click_id: str, occurred_at: datetime,
                  now: datetime) -> ReferralClick:
    with storage_errors():
        try:
            click = ReferralClick.get(click_id, consistent_read=True)
        except ReferralClick.DoesNotExist:
            click = None
    # Another partner's click is answered exactly like an unknown one: no probing.
    if click is None or click.partner_id != partner_id or click.expires_at <= now:
        raise UnprocessableError("click_id is not a referral of yours", code="unknown_click")
    if occurred_at < click.clicked_at:
        raise UnprocessableError("occurred_at is before the referral click",
                                 code="occurred_before_click")
    if occurred_at > click.clicked_at + ATTRIBUTION_WINDOW:
        raise UnprocessableError("the referral click is older than the 30-day attribution window",
                                 code="click_expired")
    return click


def _retry_pause(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * (attempt + 1)))


def _only_conflicts(exc) -> bool:
    reasons = [r.code for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None]
    return bool(reasons) and set(reasons) <= {"TransactionConflict", "None"}


def report_transaction(partner_id: str, report: Report, now: datetime | None = None) -> tuple:
    """Record a reported transaction; returns (transaction, created). Safe under concurrency."""
    from pynamodb.exceptions import TransactWriteError

    now = _now(now)
    wanted = _transaction_item(partner_id, report, now)
    try:
        click = _usable_click(partner_id, wanted.click_id, wanted.occurred_at, now)
    except UnprocessableError:
        # A retry after the click aged out still gets its answer: dedup never expires.
        stored = _stored(partner_id, wanted.order_id)
        if stored is None:
            raise
        return _existing(stored, wanted, report), False
    day = wanted.occurred_at
    for attempt in range(MAX_ATTEMPTS):
        wanted.member_id = click.member_id
        try:
            with storage_errors(), transaction() as tx:
                tx.save(wanted, condition=PartnerTransaction.order_id.does_not_exist())
                stats.add_in(tx, "partner_transactions", dimension=partner_id,
                             label=wanted.currency, shards=TXN_SHARDS, now=day)
                stats.add_in(tx, "partner_revenue", dimension=partner_id, label=wanted.currency,
                             amount=int(wanted.amount_minor), shards=TXN_SHARDS, now=day)
                if click.member_id:
                    # The member link is copied only while the click still carries it: an
                    # erasure running meanwhile (which removes it) cannot be undone by a report.
                    tx.condition_check(ReferralClick, click.click_id,
                                       condition=ReferralClick.member_id == click.member_id)
        except TransactWriteError as exc:
            # PynamoDB sends condition checks first, then puts, then updates.
            check_index, order_index = (0, 1) if click.member_id else (None, 0)
            if order_index in cancelled_by_condition(exc):
                return _existing(_stored(partner_id, wanted.order_id), wanted, report), False
            if check_index in cancelled_by_condition(exc):  # the member was erased: read again
                with storage_errors():
                    click = ReferralClick.get(click.click_id, consistent_read=True)
                continue
            if not _only_conflicts(exc):
                raise
            _retry_pause(attempt)
            continue
        from chalicelib import observability

        observability.count("PartnerReports")
        return wanted, True
    raise UnavailableError("Too many simultaneous reports; try again.", retry_after=1)


def _existing(stored: PartnerTransaction | None, wanted: PartnerTransaction,
              report: Report) -> PartnerTransaction:
    if stored is None:  # removed between the write and the read: not a case that happens
        raise UnavailableError("try again", retry_after=1)
    if not _same_content(stored, wanted, report):
        raise ConflictError(f"order {wanted.order_id} was already reported with other content",
                            code="order_conflict")
    return stored


def reverse_transaction(partner_id: str, order_id: str, reason: str,
                        now: datetime | None = None) -> PartnerTransaction:
    """Mark a transaction reversed (refund, cancellation); idempotent; nets out of reports."""
    from pynamodb.exceptions import TransactWriteError

    now = _now(now)
    check_order_id(order_id)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise ValidationError(f"reason has 1-{MAX_REASON} characters", code="invalid_reason",
                              field="reason")
    for attempt in range(MAX_ATTEMPTS):
        stored = _stored(partner_id, order_id)
        if stored is None:
            raise NotFoundError(f"no transaction with order_id {order_id}")
        if stored.status == REVERSED:
            return stored
        day, minor = stored.occurred_at, int(stored.amount_minor)
        try:
            with storage_errors(), transaction() as tx:
                tx.update(stored, actions=[PartnerTransaction.status.set(REVERSED),
                                           PartnerTransaction.reversed_at.set(now),
                                           PartnerTransaction.reversal_reason.set(reason)],
                          condition=PartnerTransaction.status == REPORTED)
                stats.add_in(tx, "partner_reversals", dimension=partner_id,
                             label=stored.currency, shards=TXN_SHARDS, now=day)
                stats.add_in(tx, "partner_revenue", dimension=partner_id, label=stored.currency,
                             amount=-minor, shards=TXN_SHARDS, now=day)
        except TransactWriteError as exc:
            if not (0 in cancelled_by_condition(exc) or _only_conflicts(exc)):
                raise
            _retry_pause(attempt)
            continue
        return _stored(partner_id, order_id)
    raise UnavailableError("Too many simultaneous changes; try again.", retry_after=1)


def transaction_json(txn: PartnerTransaction) -> dict:
    """A transaction as its partner sees it: no member id, no visitor, nothing of anyone."""
    return {"order_id": txn.order_id, "click_id": txn.click_id, "amount": txn.amount,
            "currency": txn.currency, "occurred_at": _iso(txn.occurred_at),
            "reported_at": _iso(txn.reported_at), "status": txn.status,
            "reversed_at": _iso(txn.reversed_at), "reversal_reason": txn.reversal_reason}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# --- the partner's listing and reports -----------------------------------------------------------


def parse_day_range(start: str | None, end: str | None) -> tuple:
    """``from``/``to`` query values (YYYY-MM-DD, inclusive) → two dates, at most a year apart."""
    days = []
    for name, text in (("from", start), ("to", end)):
        try:
            if not isinstance(text, str) or not _DAY.match(text):
                raise ValueError
            days.append(date.fromisoformat(text))
        except ValueError:
            raise ValidationError(f"{name} must be a date as YYYY-MM-DD", code="invalid_date",
                                  field=name) from None
    if days[0] > days[1]:
        raise ValidationError("from must not be after to", code="invalid_date", field="from")
    if (days[1] - days[0]).days >= MAX_REPORT_DAYS:
        raise ValidationError(f"at most {MAX_REPORT_DAYS} days at once", code="invalid_date",
                              field="to")
    return days[0], days[1]


def _cursor_message(partner_id: str, start: date, end: date, payload: str) -> str:
    return f"{partner_id}\x00{start.isoformat()}\x00{end.isoformat()}\x00{payload}"


def encode_cursor(partner_id: str, start: date, end: date, last_key: dict) -> str:
    """An opaque cursor, signed and bound to the partner and the date range."""
    payload = base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":"),
                                                  sort_keys=True).encode()).decode().rstrip("=")
    return f"{payload}.{sign('partner-cursor', _cursor_message(partner_id, start, end, payload))}"


def decode_cursor(partner_id: str, start: date, end: date, cursor: str) -> dict:
    payload, _, signature = (cursor or "").partition(".")
    if (len(cursor or "") > 2000 or not payload
            or not verify_signature("partner-cursor",
                                    _cursor_message(partner_id, start, end, payload), signature)):
        raise ValidationError("cursor is not one we gave for this query", code="invalid_cursor",
                              field="cursor")
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationError(f"limit is a whole number from 1 to {MAX_PAGE}",
                              code="invalid_limit", field="limit")
    return int(text)


def list_transactions(partner_id: str, start: date, end: date, cursor: str | None = None,
                      limit: int = DEFAULT_PAGE) -> tuple:
    """One page of the partner's own transactions that occurred in [start, end], oldest first.

    Returns (transactions, next cursor or None). A Query on the ``partner-occurred`` index:
    it reads only this partner's items of those days, never anyone else's.
    """
    last_key = decode_cursor(partner_id, start, end, cursor) if cursor else None
    low = datetime.combine(start, dtime.min, timezone.utc)
    high = datetime.combine(end, dtime.max, timezone.utc)
    with storage_errors():
        results = PartnerTransaction.by_partner.query(
            partner_id, PartnerTransaction.occurred_at.between(low, high),
            limit=limit, page_size=limit, last_evaluated_key=last_key)
        page = list(results)
        more = results.last_evaluated_key
    next_cursor = encode_cursor(partner_id, start, end, more) if more and len(page) == limit else None
    return page, next_cursor


def daily_figures(partner_id: str, start: date, end: date) -> dict:
    """Day → the partner's raw daily figures (4 Queries on the counters), not yet suppressed.

    ``{"clicks": n, "transactions": {currency: net count}, "reversals": {currency: n},
    "revenue": {currency: net minor units}}``; only reports that apply K may use it.
    """
    clicks = stats.daily("referral_clicks", start, end, dimension=partner_id)
    reported = stats.daily_by_label("partner_transactions", start, end, dimension=partner_id)
    reversed_ = stats.daily_by_label("partner_reversals", start, end, dimension=partner_id)
    revenue = stats.daily_by_label("partner_revenue", start, end, dimension=partner_id)
    figures = {}
    day = start
    while day <= end:
        gross, reversals = reported.get(day, {}), reversed_.get(day, {})
        figures[day] = {
            "clicks": clicks.get(day, 0),
            "transactions": {c: n - reversals.get(c, 0) for c, n in gross.items()},
            "reversals": dict(reversals),
            "revenue": dict(revenue.get(day, {})),
        }
        day += timedelta(days=1)
    return figures


def daily_report(partner_id: str, start: date, end: date, k: int | None = None) -> list:
    """Per day: clicks, transactions and reversals (counts below K suppressed), net revenue."""
    return [{
        "date": day.isoformat(),
        "clicks": stats.suppress(figures["clicks"], k),
        "transactions": stats.suppress(sum(figures["transactions"].values()), k),
        "reversals": stats.suppress(sum(figures["reversals"].values()), k),
        "revenue": {currency: money.format_minor(minor, currency)
                    for currency, minor in sorted(figures["revenue"].items())},
    } for day, figures in daily_figures(partner_id, start, end).items()]


# --- the member's view and erasure ---------------------------------------------------------------


def clicks_for_member(member_id: str) -> list:
    with storage_errors():
        return list(ReferralClick.by_member.query(member_id))


def transactions_for_member(member_id: str) -> list:
    with storage_errors():
        return list(PartnerTransaction.by_member.query(member_id))


def member_view(member_id: str) -> dict:
    """The member's referrals and the transactions partners reported about them."""
    clicks, txns = clicks_for_member(member_id), transactions_for_member(member_id)
    known = partners.get_many([c.partner_id for c in clicks] + [t.partner_id for t in txns])
    return {
        "referral_clicks": [{
            "partner": partners.presented(known.get(c.partner_id), c.partner_id),
            "click_id": c.click_id, "clicked_at": _iso(c.clicked_at),
            "attribution_ends_at": _iso(c.clicked_at + ATTRIBUTION_WINDOW)} for c in clicks],
        "partner_transactions": [{
            "partner": partners.presented(known.get(t.partner_id), t.partner_id),
            **transaction_json(t)} for t in txns],
    }


def deidentify_member(member_id: str) -> None:
    """Erasure: clicks and transactions stay for partners' accounting, without the member.

    Clicks lose the member id and the visitor hash; transactions lose the member id.
    Idempotent (the sparse indexes no longer list what was already done).
    """
    with storage_errors():
        for click in clicks_for_member(member_id):
            click.update(actions=[ReferralClick.member_id.remove(),
                                  ReferralClick.visitor_hash.remove()])
        for txn in transactions_for_member(member_id):
            txn.update(actions=[PartnerTransaction.member_id.remove()])
