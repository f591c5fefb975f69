"""Event handlers: the SQS send worker, its scheduled sweeper (which also delivers partners'
opt-out notices), and the SES event handler (SNS).

Queue and topic names are fixed because Chalice binds them when the app is imported; each
stage is deployed to its own AWS account (see docs/operations.md, Deploying to AWS).
"""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import partners, promotions
from chalicelib.platform.observability import flush_metrics, set_correlation_id
from chalicelib.promotions.limits import SEND_CONCURRENCY

bp = Blueprint(__name__)

SEND_QUEUE = "eso-sends"
SES_EVENTS_TOPIC = "eso-ses-events"
SWEEP_SCHEDULE = "rate(5 minutes)"


@bp.on_sqs_message(queue=SEND_QUEUE, batch_size=1, name="send_worker",
                   maximum_concurrency=SEND_CONCURRENCY)
def send_worker(event):
    """One batch of up to 50 members of a promotion (or the console's request to plan one);
    raising returns it to the queue."""
    try:
        for record in event:
            set_correlation_id(record.to_dict().get("messageId"))
            promotions.handle_queue_message(record.body)
    finally:
        flush_metrics()


@bp.on_sns_message(topic=SES_EVENTS_TOPIC, name="ses_events")
def ses_events(event):
    """Bounces, complaints, and Send and Delivery events from the configuration set."""
    set_correlation_id(event.to_dict()["Records"][0]["Sns"].get("MessageId"))
    try:
        promotions.handle_ses_event(event.message)
    finally:
        flush_metrics()


@bp.schedule(SWEEP_SCHEDULE, name="send_sweeper")
def send_sweeper(event):
    """Every 5 minutes: start the scheduled promotions whose time came (and approvals whose
    start was lost), resume promotions
    paused for the daily quota once it allows, settle the ledger claims a dead worker left
    (confirmed by SES's events → sent, else resent once), and tell partners of members'
    opt-outs (signed notices, retried with backoff)."""
    set_correlation_id(event.to_dict().get("id"))
    try:
        try:
            promotions.start_due()
            promotions.restart_lost()
            promotions.resume_due()
            promotions.reconcile_claims()
        finally:  # a failing promotion step must not hold up partners' notices
            partners.notices.run()
    finally:
        flush_metrics()
