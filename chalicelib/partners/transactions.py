"""Transactions partners report for referred visitors, reversals, listings and daily reports.

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
  suppressed (``statistics.suppression``); revenue is the partner's own reported money.
- A member sees the clicks made while signed in and the transactions attributed to them;
  erasure removes the member (and the visitor hash) from those records.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime

from pynamodb.exceptions import TransactWriteError

from chalicelib.partners import money
from chalicelib.partners.limits import MAX_REASON
from chalicelib.partners.models import PartnerTransaction, ReferralClick
from chalicelib.partners.referrals import ATTRIBUTION_WINDOW
from chalicelib.platform import clock, dynamo, observability
from chalicelib.platform.clock import iso
from chalicelib.platform.crypto import sign, verify_signature
from chalicelib.platform.dynamo import cancelled_by_condition, storage_errors, transaction
from chalicelib.platform.errors import (
    ConflictError,
    NotFoundError,
    UnavailableError,
    UnprocessableError,
    ValidationError,
)
from chalicelib.statistics import counters
from chalicelib.statistics.suppression import suppress

CLOCK_SKEW = timedelta(minutes=2)
MAX_ATTEMPTS = 8
MAX_REPORT_DAYS = 366
MAX_PAGE = 100
DEFAULT_PAGE = 50
REPORTED, REVERSED = "reported", "reversed"
CLICK_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
                          f"such as 2026-03-01T12:00:00Z. Correct it and try again.", code=f"invalid_{field}", field=field)


def check_order_id(order_id: str) -> str:
    if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
        raise ValidationError("An order_id has 1 to 64 characters: letters, digits and . _ : - "
                              "(starting with a letter or digit). Correct it and try again.", code="invalid_order_id",
                              field="order_id")
    return order_id


def _transaction_item(partner_id: str, report: Report, now: datetime) -> PartnerTransaction:
    if not isinstance(report.click_id, str) or not CLICK_ID.match(report.click_id):
        raise ValidationError("This is not a click id. Send the eso_click value your landing page received.",
                              code="invalid_click_id", field="click_id")
    check_order_id(report.order_id)
    amount, minor = money.parse_amount(report.amount, report.currency)
    occurred_at = now
    if report.occurred_at is not None:
        occurred_at = parse_instant(report.occurred_at, "occurred_at")
        if occurred_at > now + CLOCK_SKEW:
            raise ValidationError("occurred_at is in the future. Send the time the order was placed.", code="invalid_occurred_at",
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
        raise UnprocessableError("This click_id is not a referral to you. Check the eso_click value.", code="unknown_click")
    if occurred_at < click.clicked_at:
        raise UnprocessableError("occurred_at is before the referral click. Check the order's time.",
                                 code="occurred_before_click")
    if occurred_at > click.clicked_at + ATTRIBUTION_WINDOW:
        raise UnprocessableError("The referral click is older than the 30-day attribution window. Orders after it "
                                 "cannot be reported.",
                                 code="click_expired")
    return click


def report_transaction(partner_id: str, report: Report, now: datetime | None = None) -> tuple:
    """Record a reported transaction; returns (transaction, created). Safe under concurrency."""
    now = now or clock.now()
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
    for _ in dynamo.retries(MAX_ATTEMPTS):
        wanted.member_id = click.member_id
        try:
            with storage_errors(), transaction() as tx:
                tx.save(wanted, condition=PartnerTransaction.order_id.does_not_exist())
                counters.add_in(tx, "partner_transactions", dimension=partner_id,
                                label=wanted.currency, now=day)
                counters.add_in(tx, "partner_revenue", dimension=partner_id, label=wanted.currency,
                             amount=int(wanted.amount_minor), now=day)
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
            if not dynamo.only_contention(exc):
                raise
            continue
        observability.count("PartnerReports")
        return wanted, True
    raise UnavailableError("Too many reports at the same time. Try again in a moment.", retry_after=1)


def _existing(stored: PartnerTransaction | None, wanted: PartnerTransaction,
              report: Report) -> PartnerTransaction:
    if stored is None:  # removed between the write and the read: not a case that happens
        raise UnavailableError("Try again in a moment.", retry_after=1)
    if not _same_content(stored, wanted, report):
        raise ConflictError(f"Order {wanted.order_id} was already reported with other content. Report a "
                            "change as a reversal and a new order id.",
                            code="order_conflict")
    return stored


def reverse_transaction(partner_id: str, order_id: str, reason: str,
                        now: datetime | None = None) -> PartnerTransaction:
    """Mark a transaction reversed (refund, cancellation); idempotent; nets out of reports."""
    now = now or clock.now()
    check_order_id(order_id)
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise ValidationError(f"A reason has 1 to {MAX_REASON} characters. Correct it and try again.", code="invalid_reason",
                              field="reason")
    for _ in dynamo.retries(MAX_ATTEMPTS):
        stored = _stored(partner_id, order_id)
        if stored is None:
            raise NotFoundError(f"There is no transaction with order_id {order_id}. Check the id.")
        if stored.status == REVERSED:
            return stored
        day, minor = stored.occurred_at, int(stored.amount_minor)
        try:
            with storage_errors(), transaction() as tx:
                tx.update(stored, actions=[PartnerTransaction.status.set(REVERSED),
                                           PartnerTransaction.reversed_at.set(now),
                                           PartnerTransaction.reversal_reason.set(reason)],
                          condition=PartnerTransaction.status == REPORTED)
                counters.add_in(tx, "partner_reversals", dimension=partner_id,
                             label=stored.currency, now=day)
                counters.add_in(tx, "partner_revenue", dimension=partner_id, label=stored.currency,
                             amount=-minor, now=day)
        except TransactWriteError as exc:
            if not (0 in cancelled_by_condition(exc) or dynamo.only_contention(exc)):
                raise
            continue
        return _stored(partner_id, order_id)
    raise UnavailableError("Too many changes at the same time. Try again in a moment.", retry_after=1)


def transaction_view(txn: PartnerTransaction) -> dict:
    """A transaction as its partner sees it: no member id, no visitor, nothing of anyone."""
    return {"order_id": txn.order_id, "click_id": txn.click_id, "amount": txn.amount,
            "currency": txn.currency, "occurred_at": iso(txn.occurred_at),
            "reported_at": iso(txn.reported_at), "status": txn.status,
            "reversed_at": iso(txn.reversed_at), "reversal_reason": txn.reversal_reason}


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
            raise ValidationError(f"{name} must be a date as YYYY-MM-DD. Correct it and try again.", code="invalid_date",
                                  field=name) from None
        if not clock.FIRST_DAY <= days[-1] <= clock.LAST_DAY:
            raise ValidationError(f"{name}: {clock.DAY_RANGE_MESSAGE}", code="invalid_date",
                                  field=name)
    if days[0] > days[1]:
        raise ValidationError("from must not be after to. Swap the dates and try again.", code="invalid_date", field="from")
    if (days[1] - days[0]).days >= MAX_REPORT_DAYS:
        raise ValidationError(f"Ask for at most {MAX_REPORT_DAYS} days at once.", code="invalid_date",
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
        raise ValidationError("This cursor is not one we gave for this query. Start again without it.", code="invalid_cursor",
                              field="cursor")
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_PAGE
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationError(f"limit must be a whole number from 1 to {MAX_PAGE}.",
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
    clicks = counters.daily("referral_clicks", start, end, dimension=partner_id)
    reported = counters.daily_by_label("partner_transactions", start, end, dimension=partner_id)
    reversed_ = counters.daily_by_label("partner_reversals", start, end, dimension=partner_id)
    revenue = counters.daily_by_label("partner_revenue", start, end, dimension=partner_id)
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
        "clicks": suppress(figures["clicks"], k),
        "transactions": suppress(sum(figures["transactions"].values()), k),
        "reversals": suppress(sum(figures["reversals"].values()), k),
        "revenue": {currency: money.format_minor(minor, currency)
                    for currency, minor in sorted(figures["revenue"].items())},
    } for day, figures in daily_figures(partner_id, start, end).items()]
