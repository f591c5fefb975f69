"""Starting a send without servers: the sweeper's due schedules and lost starts, the console's
start (in the worker on a stage with a queue), the worker's start message, the quota forecast
and the operator's test send. (The same flows run against DynamoDB Local and the send worker
in tests/integration/operators/test_console_promotions.py.)"""
import json
import uuid
from datetime import timedelta

import boto3
import pytest

from chalicelib import members, partners, promotions
from chalicelib.members.consent import Provenance
from chalicelib.platform import clock, mail
from chalicelib.platform.errors import RateLimitedError, UnavailableError
from chalicelib.platform.vocabulary import OFFER, OFFERS, PARTNER, PARTNER_PROMOTIONS
from chalicelib.promotions import sending
from chalicelib.promotions.models import Delivery, Promotion


def member(partner_promotions=True) -> tuple:
    email = f"start-{uuid.uuid4().hex[:12]}@example.org"
    member_id = members.register_confirmed(members.Registration(
        email=email, password="correct horse battery staple",
        consents={"offers": True, "partner_promotions": partner_promotions}),
        Provenance("registration", "/unit"))
    return member_id, email


def pending(subject="Desks") -> tuple:
    partner = partners.create(f"Desk {uuid.uuid4().hex[:6]}", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, subject, "Body", partner_id=partner.partner_id)
    return promotion.promotion_id, partner.partner_id


def status(promotion_id) -> str:
    return promotions.get(promotion_id).status


def in_ledger(promotion_id) -> set:
    return {d.member_id for d in Delivery.query(promotion_id, consistent_read=True)}


@pytest.fixture
def queue(moto_world, monkeypatch):
    """The stage's send queue (moto SQS); ``queue()`` takes the bodies sent to it so far."""
    client = boto3.client("sqs", region_name="us-east-1")
    name = f"eso-unit-starts-{uuid.uuid4().hex[:8]}"  # a queue of the test's own
    url = client.create_queue(QueueName=name)["QueueUrl"]
    monkeypatch.setenv("ESO_SEND_QUEUE", name)

    def take() -> list:
        bodies = []
        while True:
            got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return bodies
            for message in got:
                bodies.append(json.loads(message["Body"]))
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return take


# --- due schedules -------------------------------------------------------------------------------


def test_a_schedule_starts_at_its_minute_not_before_and_only_once(moto_world):
    member_id, email = member()
    promotion_id, _ = pending()
    send_at = (clock.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    promotions.schedule(promotion_id, send_at)
    moto_world.clock.advance((send_at - clock.now()).total_seconds() - 1)
    assert promotion_id not in promotions.start_due()
    assert status(promotion_id) == "scheduled" and moto_world.outbox.to(email) == []
    moto_world.clock.advance(1)                    # exactly its time
    due_at = clock.now()   # (sending paces itself on the clock: it may move on while it sends)
    assert promotion_id in promotions.start_due()
    assert status(promotion_id) == "sent"          # no queue: planned and sent here
    assert len(moto_world.outbox.to(email)) == 1 and member_id in in_ledger(promotion_id)
    started = Promotion.get(promotion_id)
    assert started.send_at is None and started.window_started_at == due_at
    assert promotion_id not in promotions.start_due()
    assert len(moto_world.outbox.to(email)) == 1


def test_a_due_schedule_becomes_an_approval_with_its_start_time(moto_world):
    member_id, _ = member()
    promotion_id, _ = pending()
    promotions.schedule(promotion_id, clock.now() + timedelta(hours=1))
    moto_world.clock.advance(3600)
    handed = []
    assert promotion_id in promotions.start_due(send=lambda *a, **k: handed.append(a))
    promotion = Promotion.get(promotion_id)
    assert promotion.send_at is None and promotion.activity_at == clock.now()
    assert promotion.status == "sent"  # planned through the given ``send``, not SES
    assert {a[0] for a in handed} == {promotion_id}
    assert member_id in {m for a in handed for m in a[1]}


def test_a_due_schedule_of_a_partner_that_may_not_send_is_held_until_it_may(moto_world):
    member_id, email = member()
    promotion_id, partner_id = pending()
    promotions.schedule(promotion_id, clock.now() + timedelta(minutes=30))
    partners.disable(partner_id)
    moto_world.clock.advance(3600)
    assert promotion_id not in promotions.start_due()
    assert status(promotion_id) == "scheduled" and moto_world.outbox.to(email) == []
    partners.enable(partner_id)
    assert promotion_id in promotions.start_due()
    assert len(moto_world.outbox.to(email)) == 1


def test_a_schedule_moved_while_the_sweeper_runs_is_left_for_its_new_time(moto_world,
                                                                          monkeypatch):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.schedule(promotion_id, clock.now() + timedelta(minutes=30))
    moto_world.clock.advance(3600)
    later = (clock.now() + timedelta(days=1)).replace(second=0, microsecond=0)
    may_send = sending.partner_may_send

    def moved_meanwhile(partner_id):  # the operator moves it as the sweeper reads its partner
        promotions.schedule(promotion_id, later)
        return may_send(partner_id)

    monkeypatch.setattr(sending, "partner_may_send", moved_meanwhile)
    assert promotion_id not in promotions.start_due()
    assert (status(promotion_id), Promotion.get(promotion_id).send_at) == ("scheduled", later)
    assert moto_world.outbox.to(email) == []


def test_a_scheduled_promotion_without_a_time_is_never_due_and_spoils_no_sweep(moto_world):
    untimed, _ = pending("Untimed")
    due, _ = pending("Due")
    promotions.schedule(untimed, clock.now() + timedelta(hours=1))
    promotions.schedule(due, clock.now() + timedelta(hours=1))
    Promotion.get(untimed).update(actions=[Promotion.send_at.remove()])
    moto_world.clock.advance(2 * 3600)
    started = promotions.start_due()
    assert due in started and untimed not in started
    assert status(untimed) == "scheduled"


def test_with_a_queue_a_due_schedule_is_one_start_message_for_the_worker(moto_world, queue):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.schedule(promotion_id, clock.now() + timedelta(minutes=20))
    moto_world.clock.advance(20 * 60)
    assert promotion_id in promotions.start_due()
    assert status(promotion_id) == "approved"
    mine = [b for b in queue() if b["promotion_id"] == promotion_id]
    assert mine == [{"promotion_id": promotion_id, "start": True}]
    assert moto_world.outbox.to(email) == []      # the worker plans and sends, not the sweeper


# --- lost starts ---------------------------------------------------------------------------------


def test_an_approval_never_planned_is_started_again_from_fifteen_minutes_on(moto_world):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.approve(promotion_id)               # and the process died before its start
    moto_world.clock.advance(15 * 60 - 1)
    assert promotion_id not in promotions.restart_lost()
    assert moto_world.outbox.to(email) == []
    moto_world.clock.advance(1)
    assert promotion_id in promotions.restart_lost()
    assert status(promotion_id) == "sent" and len(moto_world.outbox.to(email)) == 1
    assert promotion_id not in promotions.restart_lost()  # planned: no longer lost


def test_a_lost_start_older_than_two_days_is_left_to_the_operator(moto_world):
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    moto_world.clock.advance(2 * 24 * 3600 + 1)
    assert promotion_id not in promotions.restart_lost()
    assert status(promotion_id) == "approved"


def test_a_lost_start_two_days_old_is_still_started(moto_world):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    moto_world.clock.advance(2 * 24 * 3600)
    handed = []
    assert promotion_id in promotions.restart_lost(send=lambda *a, **k: handed.append(a))
    assert status(promotion_id) == "sent"
    assert member_id in {m for a in handed if a[0] == promotion_id for m in a[1]}
    assert moto_world.outbox.to(email) == []        # handed to ``send``, not sent here


def test_only_approvals_to_send_are_started_again(moto_world):
    sent, _ = pending("Sent")
    promotions.approve(sent)
    promotions.start_sending(sent)
    offer = promotions.create(OFFER, "Backup", "Body")  # approved when created, sent by hand
    waiting, _ = pending("Waiting for review")
    moto_world.clock.advance(3600)
    started = promotions.restart_lost()
    assert {sent, offer.promotion_id, waiting} & set(started) == set()
    assert (status(offer.promotion_id), status(waiting)) == ("approved", "pending_review")


def test_a_lost_start_of_a_partner_that_may_not_send_is_held(moto_world):
    promotion_id, partner_id = pending()
    promotions.approve(promotion_id)
    partners.disable(partner_id)
    moto_world.clock.advance(60)
    other, _ = pending("Another partner's")
    promotions.approve(other)                        # lost a minute later
    moto_world.clock.advance(3600)
    started = promotions.restart_lost(send=lambda *a, **k: None)
    assert promotion_id not in started and other in started  # the held one stops no other
    assert status(promotion_id) == "approved"
    partners.enable(partner_id)
    assert promotion_id in promotions.restart_lost(send=lambda *a, **k: None)


def test_with_a_queue_a_lost_start_is_one_start_message(moto_world, queue):
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    moto_world.clock.advance(3600)
    assert promotion_id in promotions.restart_lost()
    assert [b for b in queue() if b["promotion_id"] == promotion_id] == [
        {"promotion_id": promotion_id, "start": True}]
    assert status(promotion_id) == "approved"


# --- the console's start, and the worker's start message ----------------------------------------


def test_without_a_queue_the_console_s_start_sends_at_once(moto_world):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    assert promotions.start_sending(promotion_id) == "sent"
    assert status(promotion_id) == "sent" and len(moto_world.outbox.to(email)) == 1


def test_with_a_queue_the_worker_plans_the_start_once_though_sqs_gives_it_twice(moto_world, queue):
    member_id, email = member()
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    assert promotions.start_sending(promotion_id) == "queued"
    [start] = queue()
    assert start == {"promotion_id": promotion_id, "start": True}
    assert moto_world.outbox.to(email) == [] and status(promotion_id) == "approved"
    for _ in range(2):
        assert promotions.handle_queue_message(json.dumps(start)) == (0, 0, 0)
    batches = queue()
    assert batches and {b["promotion_id"] for b in batches} == {promotion_id}
    assert sum(b["member_ids"].count(member_id) for b in batches) == 1
    assert status(promotion_id) == "sent"


def test_with_a_queue_each_batch_of_an_a_b_test_names_its_variant(moto_world, queue):
    first, _ = member()
    second, _ = member()
    partner = partners.create("Variant Desk", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id,
                                  variants=[{"subject": "Desks", "text": "Body"},
                                            {"subject": "Chairs", "text": "Other body"}])
    promotions.approve(promotion.promotion_id)
    promotions.dispatch(promotion.promotion_id, batch_size=1)
    batches = queue()
    assert {b["variant"] for b in batches} == {0, 1}  # at least one member of each
    variant_of = {m: b["variant"] for b in batches for m in b["member_ids"]}
    assert first in variant_of and second in variant_of
    for body in batches:
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("ESO_SEND_QUEUE")
            promotions.handle_queue_message(json.dumps(body))
    for member_id in (first, second):
        entry = Delivery.get(promotion.promotion_id, member_id, consistent_read=True)
        assert entry.variant == variant_of[member_id]


@pytest.mark.parametrize("state", ["pending_review", "rejected", "sent", "paused"])
def test_a_start_message_for_a_promotion_not_approved_plans_nothing(moto_world, queue, state):
    promotion_id, _ = pending()
    Promotion.get(promotion_id).update(actions=[Promotion.status.set(state)])
    promotions.handle_queue_message(json.dumps({"promotion_id": promotion_id, "start": True}))
    assert queue() == [] and status(promotion_id) == state


def test_a_start_message_for_a_plan_under_way_plans_the_rest(moto_world, queue):
    member_id, _ = member()
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    Promotion.get(promotion_id).update(actions=[Promotion.status.set("sending")])
    promotions.handle_queue_message(json.dumps({"promotion_id": promotion_id, "start": True}))
    assert member_id in {m for b in queue() for m in b["member_ids"]}


def test_a_start_message_that_loses_the_race_to_another_delivery_does_nothing(moto_world, queue,
                                                                               monkeypatch):
    promotion_id, _ = pending()
    promotions.approve(promotion_id)
    read = sending.get

    def planned_meanwhile(pid):  # the other delivery plans it right after this one's read
        promotion = read(pid)
        Promotion.get(pid).update(actions=[Promotion.status.set("sent")])
        return promotion

    monkeypatch.setattr(sending, "get", planned_meanwhile)
    promotions.handle_queue_message(json.dumps({"promotion_id": promotion_id, "start": True}))
    assert queue() == []


@pytest.mark.parametrize("body", [
    {"promotion_id": "p", "start": False}, {"promotion_id": 5, "start": True},
    {"promotion_id": "p", "start": "yes"}, {"promotion_id": "p", "start": 1},
    {"promotion_id": "p", "start": True, "extra": 1},
    {"promotion_id": "p", "member_ids": [], "variant": "1"},
    {"promotion_id": "p", "member_ids": [], "variant": 1.0},
    {"promotion_id": "p", "member_ids": [], "variant": True},
    {"promotion_id": "p", "member_ids": [], "variant": None},
])
def test_a_malformed_start_or_variant_message_is_refused(body):
    with pytest.raises(ValueError, match="^malformed send batch$"):
        promotions.handle_queue_message(json.dumps(body))


# --- the forecast ---------------------------------------------------------------------------------


def test_the_forecast_counts_the_audience_not_yet_reached_against_the_account_now(moto_world):
    member()                                        # an audience of at least one
    promotion = promotions.create(OFFER, "Forecast", "Body")
    before = promotions.forecast(promotion.promotion_id)
    assert before.audience == sum(1 for _ in members.audience_ids(OFFERS)) and before.fits
    member_id, _ = member()
    assert promotions.forecast(promotion.promotion_id).audience == before.audience + 1
    promotions.send_batch(promotion.promotion_id, [member_id])
    after = promotions.forecast(promotion.promotion_id)
    assert after.audience == before.audience
    assert after.remaining == before.remaining - 1  # the account read afresh, not a minute old
    partner_promotion, _ = pending("Forecast")      # its own audience: partner promotions
    partners_before = promotions.forecast(partner_promotion).audience
    assert partners_before == sum(1 for _ in members.audience_ids(PARTNER_PROMOTIONS))
    member(partner_promotions=False)                # takes offers only
    assert promotions.forecast(partner_promotion).audience == partners_before
    assert promotions.forecast(promotion.promotion_id).audience == after.audience + 1
    after = promotions.forecast(promotion.promotion_id)
    moto_world.outbox.daily_quota = moto_world.outbox.in_window + after.audience - 1
    tight = promotions.forecast(promotion.promotion_id)
    assert (tight.remaining, tight.fits, tight.pauses) == (after.audience - 1, False, 1)


# --- the operator's test send ---------------------------------------------------------------------


def test_a_test_send_is_the_exact_mail_to_one_address_and_touches_no_member_s_records(moto_world):
    member_id, email = member()
    promotion_id, _ = pending()
    operator = f"op-{uuid.uuid4().hex[:8]}@eso.example"
    message_id = promotions.send_test(promotion_id, operator, requester="op-1")
    [sent] = moto_world.outbox.to(operator)
    assert message_id and sent["template"] == sending.template_name(promotions.get(promotion_id))
    url = f"https://eso.example/unsubscribe?token={sending.TEST_UNSUBSCRIBE_TOKEN}"
    assert sent["data"] == {"unsubscribe_url": url,
                            "snooze_token": sending.TEST_UNSUBSCRIBE_TOKEN}
    assert dict(sent["headers"]) == {"List-Unsubscribe": f"<{url}>",
                                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert sent["tags"] == {"eso-promotion": promotion_id, "eso-test-send": "yes"}
    subject, text, _ = moto_world.outbox.templates[sent["template"]]
    assert subject == "Desks" and "{{unsubscribe_url}}" in text
    assert len(moto_world.outbox.sent) == 1 and in_ledger(promotion_id) == set()
    assert status(promotion_id) == "pending_review"
    assert promotions.delivery_counts(promotions.get(promotion_id)) == (0, 0, 0)


def test_a_promotion_with_variants_is_test_sent_as_its_first_variant(moto_world):
    partner = partners.create("Variant Desk", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id,
                                  variants=[{"subject": "Desks", "text": "Body"},
                                            {"subject": "Chairs", "text": "Other body"}])
    promotions.send_test(promotion.promotion_id, "op@eso.example", requester="op-variants")
    [sent] = moto_world.outbox.to("op@eso.example")
    assert sent["template"] == sending.template_name(promotion, 0)
    assert sent["template"].endswith("-a")


def test_test_sends_are_limited_per_operator(moto_world):
    promotion_id, _ = pending()
    for _ in range(sending.TEST_SENDS_PER_HOUR):
        promotions.send_test(promotion_id, "op@eso.example", requester="op-busy")
    with pytest.raises(RateLimitedError) as refused:
        promotions.send_test(promotion_id, "op@eso.example", requester="op-busy")
    assert "At most 10 test sends an hour" in str(refused.value)
    assert len(moto_world.outbox.to("op@eso.example")) == sending.TEST_SENDS_PER_HOUR
    promotions.send_test(promotion_id, "other@eso.example", requester="op-other")
    assert len(moto_world.outbox.to("other@eso.example")) == 1


@pytest.mark.parametrize("refusal", [mail.ThrottledError, mail.QuotaExceededError])
def test_a_test_send_ses_refuses_for_now_is_a_503(moto_world, monkeypatch, refusal):
    promotion_id, _ = pending()

    def refuse(*args, **kwargs):
        raise refusal()

    monkeypatch.setattr(moto_world.outbox, "send_bulk", refuse)
    with pytest.raises(UnavailableError) as refused:
        promotions.send_test(promotion_id, "op@eso.example", requester=f"op-{refusal.__name__}")
    assert str(refused.value) == ("SES refused the test send for now (its rate or daily quota). "
                                  "Try again later.")


def test_a_test_send_ses_does_not_accept_is_a_503(moto_world):
    moto_world.outbox.fail_for.add("refused@eso.example")
    promotion_id, _ = pending()
    with pytest.raises(UnavailableError) as refused:
        promotions.send_test(promotion_id, "refused@eso.example", requester="op-refused")
    assert str(refused.value) == "SES did not accept the test send. Try again later."
