"""Soft bounces through the SES events handler, on DynamoDB Local: three transient bounces within
30 days suppress an address like a hard bounce; a delivery in between starts again; the same
event delivered twice counts once; older bounces do not count."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import promotions
from chalicelib.members import consent
from chalicelib.members.models import Member
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def _at(days_ago: float = 0.0) -> str:
    moment = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def soft_bounce(email, days_ago=0.0, feedback_id=None):
    """An SES Transient bounce event as the configuration set publishes it."""
    return {"eventType": "Bounce",
            "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                       "bouncedRecipients": [{"emailAddress": email, "status": "4.2.2"}],
                       "timestamp": _at(days_ago),
                       "feedbackId": feedback_id or f"feedback-{uuid.uuid4().hex}"},
            "mail": {"timestamp": _at(days_ago), "messageId": f"message-{uuid.uuid4().hex}",
                     "destination": [email]}}


def delivery(email, days_ago=0.0, member_id=None):
    tags = {"eso-promotion": ["p"], "eso-member": [member_id]} if member_id else {}
    return {"eventType": "Delivery",
            "mail": {"timestamp": _at(days_ago), "messageId": f"message-{uuid.uuid4().hex}",
                     "destination": [email], "tags": tags},
            "delivery": {"timestamp": _at(days_ago), "recipients": [email],
                         "smtpResponse": "250 ok"}}


def publish(client, event):
    client.lambda_.invoke("ses_events", client.events.generate_sns_event(message=json.dumps(event)))


def member(member_id):
    return Member.get(member_id, consistent_read=True)


def excluded_from_a_send(mailbox, email, member_id) -> bool:
    offer = promotions.create("offer", unique_subject("After soft bounces"), "Body")
    result = promotions.send_batch(offer.promotion_id, [member_id])
    return result.delivered == 0 and received(mailbox, offer, email) == []


def test_three_transient_bounces_within_30_days_suppress_like_a_hard_bounce(client, mailbox):
    email, member_id = make_member(mailbox)
    for days_ago in (20, 9, 0):
        publish(client, soft_bounce(email, days_ago))
    found = member(member_id)
    assert found.suppressed and found.aud_offers is None and found.aud_partner_promotions is None
    assert not consent.is_granted(found, "offers")
    assert not consent.is_granted(found, "partner_promotions")
    assert [e.source for e in consent.history(member_id)[-2:]] == ["bounce", "bounce"]
    assert excluded_from_a_send(mailbox, email, member_id)


def test_two_transient_bounces_do_not_suppress(client, mailbox):
    email, member_id = make_member(mailbox)
    publish(client, soft_bounce(email, 3))
    publish(client, soft_bounce(email))
    found = member(member_id)
    assert not found.suppressed and consent.is_granted(found, "offers")
    assert not excluded_from_a_send(mailbox, email, member_id)


@pytest.mark.parametrize("tagged", [True, False], ids=["promotion", "other mail"])
def test_a_delivery_between_bounces_starts_the_count_again(client, mailbox, tagged):
    email, member_id = make_member(mailbox)
    publish(client, soft_bounce(email, 3))
    publish(client, soft_bounce(email, 2))
    publish(client, delivery(email, 1, member_id if tagged else None))
    publish(client, soft_bounce(email, 0.5))
    publish(client, soft_bounce(email, 0.1))
    assert not member(member_id).suppressed  # two since the delivery
    publish(client, soft_bounce(email))
    assert member(member_id).suppressed      # the third since the delivery


def test_a_redelivered_bounce_event_counts_once(client, mailbox):
    email, member_id = make_member(mailbox)
    first = soft_bounce(email, 2)
    for _ in range(3):       # SNS may deliver the same event more than once
        publish(client, first)
    publish(client, soft_bounce(email, 1))
    assert not member(member_id).suppressed
    publish(client, soft_bounce(email))
    assert member(member_id).suppressed


def test_a_bounce_from_before_the_last_delivery_redelivered_late_does_not_count(client, mailbox):
    email, member_id = make_member(mailbox)
    early = [soft_bounce(email, 3), soft_bounce(email, 2)]
    for event in early:
        publish(client, event)
    publish(client, delivery(email, 1, member_id))
    for event in early:      # SNS redelivers them after the delivery was recorded
        publish(client, event)
    publish(client, soft_bounce(email))
    assert not member(member_id).suppressed


def test_bounces_older_than_30_days_do_not_count(client, mailbox):
    email, member_id = make_member(mailbox)
    publish(client, soft_bounce(email, 45))
    publish(client, soft_bounce(email, 31))
    publish(client, soft_bounce(email, 2))
    publish(client, soft_bounce(email, 1))
    assert not member(member_id).suppressed
    publish(client, soft_bounce(email))
    assert member(member_id).suppressed


def test_a_delivery_to_a_member_without_soft_bounces_writes_nothing(client, mailbox):
    from chalicelib import members

    email, member_id = make_member(mailbox)
    before = member(member_id).serialize()
    assert members.note_delivery(datetime.now(timezone.utc), member_id=member_id) is False
    publish(client, delivery(email, 0, member_id))
    after = member(member_id).serialize()
    assert after == before and "soft_bounce_reset_at" not in after


def test_the_export_shows_the_soft_bounces_held(client, mailbox):
    from chalicelib.privacy import export_member

    email, member_id = make_member(mailbox)
    publish(client, soft_bounce(email, 2))
    publish(client, soft_bounce(email, 1))
    assert len(export_member(member_id)["account"]["soft_bounces_at"]) == 2
