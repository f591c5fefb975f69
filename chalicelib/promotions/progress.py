"""How sending goes, as operators read it: a promotion's progress (planned, delivered, skipped,
failed; paused with its reason and resume time; scheduled with its time), the sends of the last
days and those to come, the send queue's depth and its dead letters, and the failures of the day.

The console's Today and promotion pages and the CLI's ``status`` and ``promotions`` commands
say these things with the same words. Reads only: one Query of the sparse ``send-activity``
index, one BatchGetItem of the counts, the day's failure counter, and (on a stage with a send
queue) the queue's attributes; never a Scan.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from chalicelib.platform.clock import iso

RECENT = timedelta(days=7)       # sends started this recently are listed (and all to come)
PAUSE_REASONS = {"daily_quota": "daily quota"}


def _minute(value: Optional[str]) -> str:
    return (value or "-")[:16].replace("T", " ")


def paused_text(promotion: dict) -> str:
    """Why a paused promotion waits and until when (its ``paused_reason`` and ``resume_at``),
    as the operator reads it in ``status``, ``promotions list``/``show`` and the console."""
    reason = PAUSE_REASONS.get(promotion["paused_reason"], promotion["paused_reason"])
    return f"paused: {reason}, resumes at {_minute(promotion['resume_at'])} UTC"


def status_text(row: dict) -> str:
    """A promotion's status as the operator reads it: a paused one says why and until when, a
    scheduled one when it starts."""
    if row["status"] == "paused":
        return paused_text(row)
    if row["status"] == "scheduled" and row.get("send_at"):
        return f"scheduled: starts at {_minute(row['send_at'])} UTC"
    return row["status"]


def progress_row(promotion, counts, planned: Optional[int]) -> dict:
    """A promotion's progress: its status (and why paused, when scheduled), the members
    planned and what became of them so far. ``finished`` once planning is over and every
    planned member was delivered, skipped or failed."""
    paused = promotion.status == "paused"
    row = {"id": promotion.promotion_id, "subject": promotion.subject, "kind": promotion.kind,
           "status": promotion.status,
           "paused_reason": promotion.paused_reason if paused else None,
           "resume_at": iso(promotion.resume_at) if paused and promotion.resume_at else None,
           "send_at": iso(promotion.send_at) if promotion.send_at else None,
           "started_at": iso(promotion.window_started_at) if promotion.window_started_at
           else None,
           "planned": planned, "delivered": counts.delivered, "skipped": counts.skipped,
           "failed": counts.failed}
    done = counts.delivered + counts.skipped + counts.failed
    row["finished"] = bool(promotion.status == "sent" and planned is not None
                           and done >= planned)
    row["status_text"] = ("sent: finished" if row["finished"] else
                          "sent: planned, batches still going out" if promotion.status == "sent"
                          else status_text(row))
    return row


def progress_of(promotion) -> dict:
    """One promotion's progress (its counts item read once)."""
    from chalicelib.promotions.counts import progress_counts_many

    counts, planned = progress_counts_many([promotion])[promotion.promotion_id]
    return progress_row(promotion, counts, planned)


def recent_sends(now: Optional[datetime] = None) -> list:
    """The sends of the last 7 days and every send scheduled to come, newest first, each
    with its progress (one Query of the sparse ``send-activity`` index, without content)."""
    from chalicelib.platform import clock
    from chalicelib.platform.dynamo import storage_errors
    from chalicelib.promotions.campaigns import SENDS
    from chalicelib.promotions.counts import progress_counts_many
    from chalicelib.promotions.models import Promotion

    now = now or clock.now()
    with storage_errors():
        found = list(Promotion.send_activity.query(
            SENDS, Promotion.activity_at >= now - RECENT, scan_index_forward=False))
    counts = progress_counts_many(found)
    return [progress_row(p, *counts[p.promotion_id]) for p in found]


def failures_on(day) -> int:
    """Messages that failed for good on ``day`` (UTC), every kind of promotion together."""
    from chalicelib.platform.vocabulary import KIND_PURPOSE
    from chalicelib.promotions.sending import FAILURES_METRIC
    from chalicelib.statistics import counters

    return sum(sum(counters.daily(FAILURES_METRIC, day, day, dimension=kind).values())
               for kind in KIND_PURPOSE)


def send_queues() -> dict:
    """The send queue's depth and its dead letters on a stage that has one:
    ``{"queues": [{"name", "visible", "in_flight", "delayed", …}, …], "unavailable": None}``;
    ``{"queues": None, "unavailable": why}`` on the local stack (sent in-process) or when the
    queue could not be read."""
    from chalicelib.platform import monitoring
    from chalicelib.platform.settings import get_settings

    name = get_settings().send_queue
    if not name:
        return {"queues": None,
                "unavailable": "the local stack sends promotions in-process, without a queue"}
    try:
        return {"queues": monitoring.queue_with_dead_letters(name), "unavailable": None}
    except monitoring.AwsCallError as exc:
        return {"queues": None, "unavailable": exc.message}


def sending_overview(now: Optional[datetime] = None) -> dict:
    """Everything the Today page says about sending: the recent and coming sends with their
    progress, the day's failed messages, the send queue and its dead letters."""
    from chalicelib.platform import clock

    now = now or clock.now()
    sends = recent_sends(now)
    return {"sends": sends, "failed_today": failures_on(now.date()), **send_queues(),
            "paused": sum(1 for s in sends if s["status"] == "paused"),
            "scheduled": sum(1 for s in sends if s["status"] == "scheduled"),
            "in_progress": sum(1 for s in sends if s["status"] in ("approved", "sending")
                               or (s["status"] == "sent" and not s["finished"]))}
