"""The audit log of operator actions: append-only, one item per action.

Each entry names who acted (an operator id and address, or ``cli`` for the command line), what
they did, on which object, when, and from which request. Entries are written with
``attribute_not_exists`` and the product has no code that updates or deletes one; on AWS the
function's role may only put and query the table. Details are short named facts chosen by the
caller from ``ALLOWED_DETAIL``: never a password, token, code or message body.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date, datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.operators.models import AuditRecord
from chalicelib.platform import clock
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.spreadsheets import safe_cell as _cell

# The only facts an entry may carry besides who/what/which/when: anything else is refused, so
# a caller cannot put a secret into the log by mistake.
ALLOWED_DETAIL = {"reason", "method", "status", "from", "to", "rows", "email", "fields", "slot",
                  "count", "send_at", "audience"}
MAX_DETAIL = 300
MAX_EXPORT_DAYS = 92
CSV_COLUMNS = ("at", "actor", "actor_email", "action", "target", "request_id", "detail")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def record(actor: str, action: str, *, actor_email: str | None = None,
           target: str | None = None, request_id: str | None = None,
           detail: dict | None = None, now: datetime | None = None) -> dict:
    """Append one entry; returns it as a dict."""
    now = now or clock.now()
    facts = {}
    for key, value in (detail or {}).items():
        if key not in ALLOWED_DETAIL:
            raise ValueError(f"audit detail {key!r} is not one the log may hold")
        facts[key] = str(value)[:MAX_DETAIL]
    for _ in range(3):
        entry = AuditRecord(now.date().isoformat(), f"{iso(now)}#{secrets.token_hex(6)}",
                            at=now, actor=actor, actor_email=actor_email, action=action,
                            target=target, request_id=request_id, detail=facts or None)
        try:
            with storage_errors():
                entry.save(condition=AuditRecord.entry_id.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                continue  # 48 random bits collided: draw again, never overwrite
            raise
        return entry_json(entry)
    raise RuntimeError("could not find a free audit entry id")  # pragma: no cover


def entry_json(entry: AuditRecord) -> dict:
    return {"at": iso(entry.at), "actor": entry.actor, "actor_email": entry.actor_email,
            "action": entry.action, "target": entry.target, "request_id": entry.request_id,
            "detail": dict(entry.detail.as_dict() if hasattr(entry.detail, "as_dict")
                           else entry.detail or {})}


def parse_day(value: str | None, field: str, default: date | None = None) -> date:
    if not value:
        if default is None:
            raise ValidationError("Give a day as YYYY-MM-DD.", field=field)
        return default
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValidationError("Give a day as YYYY-MM-DD.", field=field)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("That day does not exist; give one as YYYY-MM-DD.",
                              field=field) from None
    if not clock.FIRST_DAY <= day <= clock.LAST_DAY:
        raise ValidationError(clock.DAY_RANGE_MESSAGE, field=field)
    return day


def entries_of_day(day: date) -> list:
    """A day's entries, newest first (one Query)."""
    with storage_errors():
        found = AuditRecord.query(day.isoformat(), scan_index_forward=False)
        return [entry_json(e) for e in found]


def entries_between(first: date, last: date) -> list:
    """Entries of [first, last], oldest first; at most ``MAX_EXPORT_DAYS`` days."""
    if last < first:
        raise ValidationError("The first day comes after the last.", field="from")
    if (last - first).days + 1 > MAX_EXPORT_DAYS:
        raise ValidationError(f"Export at most {MAX_EXPORT_DAYS} days at once.", field="to")
    out = []
    day = first
    while day <= last:
        out.extend(reversed(entries_of_day(day)))
        day += timedelta(days=1)
    return out




def as_csv(entries: list) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        detail = "; ".join(f"{k}={v}" for k, v in sorted(entry["detail"].items()))
        writer.writerow([_cell(entry[c]) for c in CSV_COLUMNS[:-1]] + [_cell(detail)])
    return out.getvalue()
