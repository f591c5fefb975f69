"""The SES account's limits without servers: the quota arithmetic announced at approval, the
stage's rate shared by the bounded workers, and pausing at the daily quota (moto, a fake clock,
an outbox that refuses as SES does once its 24-hour quota is used)."""
import json
import uuid
from datetime import timedelta

import pytest

from chalicelib import members, promotions
from chalicelib.members.consent import Provenance
from chalicelib.platform import mail
from chalicelib.promotions import quota, sending
from chalicelib.promotions.models import Delivery, Promotion
from chalicelib.workers import SEND_CONCURRENCY

PASSWORD = "correct horse battery staple"


def account(max_24h=50_000, rate=14, sent=0):
    return mail.Account(max_24h, rate, sent)


def test_sixty_thousand_members_on_the_default_quota_take_two_windows(moto_world):
    now = moto_world.clock.now()
    found = quota.forecast(60_000, account(), now)
    assert not found.fits and found.remaining == 50_000 and found.pauses == 1
    # 10,000 left for the second window, at 14 per second: 714 s after it opens.
    assert found.finishes_at == now + timedelta(hours=24, seconds=10_000 / 14)
    text = found.warning()
    assert "goes to 60,000 members" in text and "only 50,000 more" in text
    assert "50,000 per 24 hours" in text and "2026-12-02 09:11 UTC" in text


def test_what_was_sent_today_counts_and_a_fitting_promotion_has_no_warning(moto_world):
    now = moto_world.clock.now()
    assert quota.forecast(40_000, account(sent=20_000), now).pauses == 1
    assert quota.forecast(130_001, account(sent=20_000), now).pauses == 3
    fits = quota.forecast(1_400, account(), now)
    assert fits.fits and fits.pauses == 0 and fits.warning() is None
    assert fits.finishes_at == now + timedelta(seconds=100)


def test_the_account_s_rate_is_shared_by_the_bounded_workers(moto_world, monkeypatch):
    monkeypatch.delenv("ESO_SEND_RATE")
    moto_world.outbox.rate = 14
    assert quota.container_rate() == 14            # no queue: one process sends
    monkeypatch.setenv("ESO_SEND_QUEUE", "eso-unit-send")
    assert SEND_CONCURRENCY == quota.SEND_CONCURRENCY == 2
    assert quota.container_rate() == 7             # two workers at most: 7 + 7 = 14
    monkeypatch.setenv("ESO_SEND_RATE", "4")       # a stage cap below the account's rate
    assert quota.container_rate() == 2


def test_each_worker_paces_at_its_share(moto_world, monkeypatch):
    monkeypatch.delenv("ESO_SEND_RATE")
    monkeypatch.setenv("ESO_SEND_QUEUE", "eso-unit-send")
    moto_world.outbox.rate = 14
    monkeypatch.setattr(sending, "_last_send", [0.0])
    sending._pace(7)
    sending._pace(7)                               # 7 more at 7 per second: one second later
    assert moto_world.clock.slept == [1.0]


def test_the_account_is_read_once_a_minute_and_again_for_a_new_sender(moto_world):
    moto_world.outbox.daily_quota = 100
    assert quota.remaining() == 100
    moto_world.outbox.in_window = 40               # sent by others: not seen for a minute
    quota.note_sent(10)
    assert quota.remaining() == 90
    moto_world.clock.advance(61)
    assert quota.remaining() == 60
    with mail.use_sender(mail.Outbox(daily_quota=5)):
        assert quota.remaining() == 5


def _members(count):
    return [members.register_confirmed(members.Registration(
        email=f"quota-{n}-{uuid.uuid4().hex}@example.org", password=PASSWORD,
        consents={"offers": True, "partner_promotions": True}),
        Provenance("registration", "/unit")) for n in range(count)]


def test_the_daily_quota_pauses_the_promotion_and_the_schedule_resumes_it(moto_world):
    _members(5)
    offer = promotions.create("offer", "Quota", "Body")
    audience = set(members.audience_ids("offers"))
    outbox = moto_world.outbox
    outbox.daily_quota = len(audience) - 2
    quota.forget()
    promotions.dispatch(offer.promotion_id, batch_size=1)
    paused = promotions.get(offer.promotion_id)
    assert (paused.status, paused.paused_reason) == ("paused", "daily_quota")
    assert paused.resume_at == paused.window_started_at + timedelta(hours=24)
    assert len(outbox.sent) == len(audience) - 2
    statuses = [d.status for d in Delivery.query(offer.promotion_id)]
    assert statuses == ["sent"] * (len(audience) - 2)   # nobody left claimed

    moto_world.clock.advance(3600)
    assert offer.promotion_id not in promotions.resume_due()  # still full, not yet time
    outbox.new_day()
    moto_world.clock.advance(23 * 3600)
    assert offer.promotion_id in promotions.resume_due()
    assert sorted(m["to"] for m in outbox.sent) == sorted(
        m.email for m in members.read_many(sorted(audience)).values())
    assert promotions.get(offer.promotion_id).status == "sent"


def test_a_paused_promotion_resumes_early_only_when_its_first_batch_fits(moto_world):
    _members(5)
    promotions.resume_due()  # other tests' paused promotions go first, while room is plenty
    offer = promotions.create("offer", "Small quota", "Body")
    waiting = len(set(members.audience_ids("offers")))
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    promotions.pause(offer.promotion_id)
    outbox = moto_world.outbox
    # Over a tenth of the quota is free, but not room for the batch of its waiting members: it
    # would be paused again at once, its batch not sent.
    outbox.daily_quota, outbox.in_window = 2 * waiting, waiting + 1
    moto_world.clock.advance(3600)
    assert promotions.resume_due() == []
    assert promotions.get(offer.promotion_id).status == "paused"
    outbox.in_window -= 1                   # room for all of them, fewer than a full batch
    assert promotions.resume_due() == [offer.promotion_id]
    assert len([m for m in outbox.sent if m["subject"] == "Small quota"]) == waiting
    assert promotions.get(offer.promotion_id).status == "sent"


def test_a_full_batch_of_room_is_enough_to_resume(moto_world):
    moto_world.outbox.daily_quota, moto_world.outbox.in_window = 200, 150
    now = moto_world.clock.now()
    later = now + timedelta(hours=5)
    def never():
        raise AssertionError("the audience is counted only when the room is below a batch")
    assert quota.may_resume(later, now, 50, never) == (True, later)
    moto_world.outbox.in_window = 151
    assert quota.may_resume(later, now, 50, lambda: 49) == (True, later)
    assert quota.may_resume(later, now, 50, lambda: 50) == (False, later)
    # Due, but still without room for a batch: looked at again an hour later.
    assert quota.may_resume(now, now, 50, lambda: 50) == (False, now + timedelta(hours=1))


class QuotaEntries(mail.Outbox):
    """SES answering ACCOUNT_DAILY_QUOTA_EXCEEDED for every entry of a call."""

    def send_bulk(self, template, default_data, default_headers, entries, tags=()):
        return [mail.BulkResult("quota") for _ in entries]


def test_entries_refused_for_the_quota_are_released_and_the_promotion_paused(moto_world):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Entries", "Body")
    with mail.use_sender(QuotaEntries()) as ses:
        quota.forget()
        promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
        result = promotions.send_batch(offer.promotion_id, [member_id])
    assert result == (0, 0, 0) and ses.sent == []
    assert list(Delivery.query(offer.promotion_id)) == []
    assert promotions.get(offer.promotion_id).status == "paused"


def test_a_batch_that_cannot_fit_is_not_sent_at_all(moto_world):
    ids = _members(3)
    offer = promotions.create("offer", "Precheck", "Body")
    moto_world.outbox.daily_quota = 2
    quota.forget()
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    assert promotions.send_batch(offer.promotion_id, ids) == (0, 0, 0)
    assert moto_world.outbox.sent == []
    assert promotions.get(offer.promotion_id).status == "paused"


@pytest.mark.parametrize("message", ["Daily message quota exceeded.",
                                     "daily message quota exceeded"])
def test_ses_s_refusal_for_the_daily_quota_is_told_from_throttling(message):
    from botocore.exceptions import ClientError

    refusal = ClientError({"Error": {"Code": "ThrottlingException", "Message": message}},
                          "SendBulkEmail")
    throttled = ClientError({"Error": {"Code": "ThrottlingException",
                                       "Message": "Maximum sending rate exceeded."}},
                            "SendBulkEmail")
    assert mail._quota_refusal(refusal) and not mail._quota_refusal(throttled)


# --- claims a dead worker left -------------------------------------------------------------------


def test_each_message_names_its_promotion_and_member_in_its_tags(moto_world):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Tags", "Body")
    promotions.send_batch(offer.promotion_id, [member_id])
    (sent,) = [m for m in moto_world.outbox.sent if m["subject"] == "Tags"]
    assert sent["tags"] == {"eso-promotion": offer.promotion_id, "eso-member": member_id}


def _claim(promotion_id, member_id, at, resent=None, confirmed=None):
    Delivery(promotion_id, member_id, status="claimed", attempt="dead", at=at,
             expires_at=at + timedelta(days=1), resent=resent,
             confirmed_message_id=confirmed).save()


def _status(promotion_id, member_id):
    return Delivery.get(promotion_id, member_id, consistent_read=True).status


def test_an_event_confirms_only_a_claim(moto_world):
    offer = promotions.create("offer", "Confirm", "Body")
    now = moto_world.clock.now()
    _claim(offer.promotion_id, "m-claimed", now)
    Delivery(offer.promotion_id, "m-sent", status="sent", attempt="a", at=now,
             expires_at=now + timedelta(days=1), message_id="x").save()
    assert promotions.confirm_claim(offer.promotion_id, "m-claimed", "ses-1")
    assert not promotions.confirm_claim(offer.promotion_id, "m-sent", "ses-2")
    assert not promotions.confirm_claim(offer.promotion_id, "m-gone", "ses-3")  # never recreated
    assert Delivery.get(offer.promotion_id, "m-sent").message_id == "x"
    confirmed = Delivery.get(offer.promotion_id, "m-claimed", consistent_read=True)
    assert (confirmed.status, confirmed.confirmed_message_id) == ("claimed", "ses-1")
    assert list(Delivery.query(offer.promotion_id, Delivery.member_id == "m-gone")) == []


def test_an_unconfirmed_claim_is_resent_once_and_then_given_up(moto_world):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Once more", "Body")
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    start = moto_world.clock.now()
    _claim(offer.promotion_id, member_id, start)
    _claim(offer.promotion_id, "m-confirmed", start, confirmed="ses-9")
    moto_world.clock.advance(30 * 60)
    assert promotions.reconcile_claims() == (0, 0, 0)        # younger than an hour: wait
    moto_world.clock.advance(31 * 60)
    assert promotions.reconcile_claims() == (1, 1, 0)
    assert _status(offer.promotion_id, "m-confirmed") == "sent"
    assert _status(offer.promotion_id, member_id) == "sent"
    assert len([m for m in moto_world.outbox.sent if m["subject"] == "Once more"]) == 1
    stored = promotions.delivery_counts(promotions.get(offer.promotion_id))
    assert (stored.delivered, stored.failed) == (2, 0)

    # A resent claim that again has no event (its worker died too) is never sent a third time.
    _claim(offer.promotion_id, "m-resent", moto_world.clock.now(), resent=True)
    moto_world.clock.advance(2 * 3600)
    assert promotions.reconcile_claims() == (0, 0, 1)
    assert _status(offer.promotion_id, "m-resent") == "failed"
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).failed == 1


class Killed(BaseException):
    """The sweeper's process dying: nothing after it runs (not even ``except Exception``)."""


def test_a_sweeper_dying_before_its_resend_leaves_the_claims_in_the_ledger(moto_world,
                                                                          monkeypatch):
    member_ids = _members(2)
    offer = promotions.create("offer", "Dying sweeper", "Body")
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    for member_id in member_ids:
        _claim(offer.promotion_id, member_id, moto_world.clock.now())
    moto_world.clock.advance(2 * 3600)

    def die(*args, **kwargs):
        raise Killed()
    with monkeypatch.context() as patch:
        patch.setattr(sending, "send_batch", die)
        with pytest.raises(Killed):
            promotions.reconcile_claims()
    # Still the promotion's: the next run gives them up (their one resend was due), nobody
    # is dropped from the ledger, nobody gets a third try.
    assert {m: _status(offer.promotion_id, m) for m in member_ids} == {
        m: "claimed" for m in member_ids}
    moto_world.clock.advance(2 * 3600)
    assert promotions.reconcile_claims() == (0, 0, 2)
    assert {m: _status(offer.promotion_id, m) for m in member_ids} == {
        m: "failed" for m in member_ids}
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).failed == 2
    assert [m for m in moto_world.outbox.sent if m["subject"] == "Dying sweeper"] == []


def test_a_claim_due_for_its_resend_while_the_promotion_is_paused_waits_for_the_resumption(
        moto_world):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Paused resend", "Body")
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    _claim(offer.promotion_id, member_id, moto_world.clock.now())
    promotions.pause(offer.promotion_id)
    moto_world.clock.advance(2 * 3600)
    assert promotions.reconcile_claims() == (0, 0, 0)
    # Released, not given up: the resumption plans the member again.
    assert list(Delivery.query(offer.promotion_id, Delivery.member_id == member_id)) == []
    moto_world.clock.advance(24 * 3600)
    assert offer.promotion_id in promotions.resume_due()
    assert _status(offer.promotion_id, member_id) == "sent"
    assert len([m for m in moto_world.outbox.sent if m["subject"] == "Paused resend"
                and m["tags"]["eso-member"] == member_id]) == 1


def test_a_sweeper_dying_midway_keeps_the_counts_of_the_claims_it_settled(moto_world,
                                                                         monkeypatch):
    from pynamodb.connection.base import Connection

    offer = promotions.create("offer", "Counted", "Body")
    promotions.dispatch(offer.promotion_id, send=lambda p, b: None)
    for member_id in ("m-a", "m-b"):
        _claim(offer.promotion_id, member_id, moto_world.clock.now(), confirmed=f"ses-{member_id}")
    moto_world.clock.advance(2 * 3600)
    real, writes = Connection.dispatch, []

    def dying(self, operation, kwargs):
        if (operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
                and "deliveries" in json.dumps(kwargs, default=str)):
            writes.append(operation)
            if len(writes) == 2:
                raise Killed()  # as the second claim is settled
        return real(self, operation, kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(Connection, "dispatch", dying)
        with pytest.raises(Killed):
            promotions.reconcile_claims()
    assert _status(offer.promotion_id, "m-a") == "sent"
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered == 1
    assert promotions.reconcile_claims() == (1, 0, 0)
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered == 2


def test_the_events_of_other_mail_change_nothing(moto_world):
    from chalicelib.promotions import ses_events

    assert ses_events.handle_ses_event(json.dumps(
        {"eventType": "Send", "mail": {"messageId": "m", "tags": {"ses:caller-identity": ["x"]}},
         "send": {}})) == 0


def test_a_settled_claim_keeps_its_message_variant_and_resend_and_is_counted_once(moto_world):
    from chalicelib.statistics import counters

    offer = promotions.create("offer", "Settled", "Body", variants=[
        {"subject": "Settled", "text": "A"}, {"subject": "Settled too", "text": "B"}])
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    start = moto_world.clock.now()
    for member_id, confirmed, variant in (("m-confirmed", "ses-b", 1), ("m-lost", None, 0)):
        Delivery(pid, member_id, status="claimed", attempt="dead", at=start,
                 expires_at=start + timedelta(days=1), resent=True,
                 confirmed_message_id=confirmed, variant=variant).save()
    day = start.date()

    def today(metric):
        return counters.daily(metric, day, day, dimension="offer").get(day, 0)

    delivered, failed = today("promotion_deliveries"), today(sending.FAILURES_METRIC)
    moto_world.clock.advance(2 * 3600)
    found = promotions.reconcile_claims()
    assert found.confirmed >= 1 and found.failed >= 1
    expires = moto_world.clock.now() + sending.LEDGER_TTL
    settled = {e.member_id: (e.status, e.message_id, e.resent, e.variant, e.expires_at)
               for e in Delivery.query(pid, consistent_read=True)}
    assert settled == {"m-confirmed": ("sent", "ses-b", True, 1, expires),
                       "m-lost": ("failed", None, True, 0, expires)}
    counts = promotions.delivery_counts(promotions.get(pid))
    assert (counts.delivered, counts.failed, counts.delivered_by_variant) == (1, 1, (0, 1))
    assert (today("promotion_deliveries"), today(sending.FAILURES_METRIC)) == (
        delivered + 1, failed + 1)


def test_a_claim_another_sweeper_took_over_meanwhile_is_left_to_it(moto_world, monkeypatch):
    offer = promotions.create("offer", "Taken over", "Body")
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    _claim(pid, "m-taken", moto_world.clock.now(), confirmed="ses-1")
    moto_world.clock.advance(2 * 3600)
    real = sending.transaction

    def taken_over_meanwhile():
        Delivery(pid, "m-taken").update(actions=[Delivery.attempt.set("other-sweeper")])
        return real()

    monkeypatch.setattr(sending, "transaction", taken_over_meanwhile)
    promotions.reconcile_claims()
    entry = Delivery.get(pid, "m-taken", consistent_read=True)
    assert (entry.status, entry.attempt) == ("claimed", "other-sweeper")
    assert promotions.delivery_counts(promotions.get(pid)).delivered == 0
    entry.delete()                                   # left for no other test's sweep


def test_claims_are_settled_from_their_first_hour_on_while_the_promotion_is_sending(moto_world):
    offer = promotions.create("offer", "Still sending", "Body")
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    Promotion.get(pid).update(actions=[Promotion.status.set("sending")])  # its plan still runs
    for member_id in ("m-one", "m-two"):
        _claim(pid, member_id, moto_world.clock.now(), confirmed=f"ses-{member_id}")
    moto_world.clock.advance(3600)                   # exactly an hour: not yet
    promotions.reconcile_claims()
    assert {_status(pid, m) for m in ("m-one", "m-two")} == {"claimed"}
    moto_world.clock.advance(1)
    assert promotions.reconcile_claims().confirmed >= 2  # (other tests' claims may be due too)
    assert {_status(pid, m) for m in ("m-one", "m-two")} == {"sent"}


def test_claims_are_settled_for_two_days_after_the_sending_began(moto_world):
    offer = promotions.create("offer", "Two days", "Body")
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    never_sent = promotions.create("offer", "Marked sent by hand", "Body")
    Promotion.get(never_sent.promotion_id).update(actions=[Promotion.status.set("sent")])
    _claim(pid, "m-late", moto_world.clock.now(), confirmed="ses-late")
    moto_world.clock.advance(2 * 24 * 3600)          # the horizon itself: still settled
    promotions.reconcile_claims()
    assert _status(pid, "m-late") == "sent"
    _claim(pid, "m-later", moto_world.clock.now() - timedelta(hours=2), confirmed="ses-later")
    moto_world.clock.advance(1)
    promotions.reconcile_claims()
    assert _status(pid, "m-later") == "claimed"
    Delivery(pid, "m-later").delete()                # left for no other test's sweep


def test_an_unconfirmed_claim_of_a_variant_is_resent_as_that_variant(moto_world):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Variant resend", "Body", variants=[
        {"subject": "Variant resend", "text": "A"}, {"subject": "Variant resend B", "text": "B"}])
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    now = moto_world.clock.now()
    Delivery(pid, member_id, status="claimed", attempt="dead", at=now,
             expires_at=now + timedelta(days=1), variant=1).save()
    moto_world.clock.advance(2 * 3600)
    assert promotions.reconcile_claims().resent >= 1
    [sent] = [m for m in moto_world.outbox.sent if m["tags"].get("eso-promotion") == pid]
    assert sent["template"].endswith("-b") and sent["subject"] == "Variant resend B"


def test_a_claim_another_sweeper_took_over_before_the_resend_is_not_sent_again(moto_world,
                                                                              monkeypatch):
    (member_id,) = _members(1)
    offer = promotions.create("offer", "Resent by another", "Body")
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    _claim(pid, member_id, moto_world.clock.now())
    moto_world.clock.advance(2 * 3600)
    real = sending.batches

    def taken_over_meanwhile(entries, *args):
        Delivery(pid, member_id).update(actions=[Delivery.attempt.set("other-sweeper"),
                                                 Delivery.resent.set(True)])
        return real(entries, *args)

    monkeypatch.setattr(sending, "batches", taken_over_meanwhile)
    promotions.reconcile_claims()
    assert [m for m in moto_world.outbox.sent if m["tags"].get("eso-promotion") == pid] == []
    assert Delivery.get(pid, member_id, consistent_read=True).attempt == "other-sweeper"
    Delivery(pid, member_id).delete()                # left for no other test's sweep


def test_only_a_promotion_that_is_sending_is_paused(moto_world):
    offer = promotions.create("offer", "Not sending", "Body")
    assert promotions.pause(offer.promotion_id) is None
    assert promotions.get(offer.promotion_id).status == "approved"
    promotions.dispatch(offer.promotion_id, send=lambda *a, **k: None)
    first = promotions.pause(offer.promotion_id)
    moto_world.clock.advance(600)
    assert first is not None and promotions.pause(offer.promotion_id) is None  # paused already
    assert promotions.get(offer.promotion_id).resume_at == first


def _paused(subject):
    offer = promotions.create("offer", subject, "Body")
    promotions.dispatch(offer.promotion_id, send=lambda *a, **k: None)
    promotions.pause(offer.promotion_id)
    return offer.promotion_id


def test_a_pause_whose_time_came_without_room_is_looked_at_again_an_hour_later(moto_world):
    pid = _paused("Still full")
    outbox = moto_world.outbox
    outbox.daily_quota, outbox.in_window = 1000, 1000
    moto_world.clock.advance(24 * 3600)
    assert pid not in promotions.resume_due()
    again = promotions.get(pid)
    assert (again.status, again.resume_at) == ("paused", moto_world.clock.now() + quota.RECHECK)


def test_before_its_time_a_pause_waits_while_less_than_a_tenth_of_the_quota_is_free(moto_world):
    pid = _paused("Not yet")
    waiting = sum(1 for _ in members.audience_ids("offers"))
    outbox = moto_world.outbox
    outbox.daily_quota = 100 * (waiting + 1)
    outbox.in_window = outbox.daily_quota - (waiting + 1)  # room for all, under a tenth
    resume_at = promotions.get(pid).resume_at
    moto_world.clock.advance(3600)
    assert pid not in promotions.resume_due()
    assert promotions.get(pid).resume_at == resume_at


def test_a_pause_ended_meanwhile_by_someone_else_is_left_and_the_others_resumed(moto_world,
                                                                              monkeypatch):
    _members(1)
    promotions.resume_due()  # other tests' paused promotions first
    waits = _paused("Waits")                  # not due, and no early room: looked at, left
    taken = _paused("Taken meanwhile")
    resumed = _paused("Resumed")
    outbox = moto_world.outbox
    outbox.daily_quota, outbox.in_window = 1_000_000, 0
    Promotion.get(waits).update(actions=[Promotion.resume_at.set(
        moto_world.clock.now() + timedelta(days=30))])
    real = quota.may_resume

    def decided(resume_at, now, batch_size, waiting):
        found = real(resume_at, now, batch_size, waiting)
        if resume_at == Promotion.get(waits).resume_at:
            return False, resume_at
        if not taken_done:
            taken_done.append(True)  # the first promotion it would resume: another sweeper did
            Promotion.get(taken).update(actions=[Promotion.status.set("sending")])
        return found

    taken_done = []
    monkeypatch.setattr(quota, "may_resume", decided)
    handed = []
    started = promotions.resume_due(send=lambda *a, **k: handed.append(a))
    assert waits not in started and resumed in started and taken not in started
    assert promotions.get(waits).status == "paused"
    assert {a[0] for a in handed} == set(started) and handed


def test_a_pause_is_logged_for_the_operator_with_its_promotion_and_resumption(moto_world,
                                                                           monkeypatch):
    from chalicelib.platform import clock

    logged = []

    class Logger:
        def warning(self, message, extra):
            logged.append((message, extra))

    monkeypatch.setattr(sending.observability, "get_logger", Logger)
    offer = promotions.create("offer", "Logged pause", "Body")
    promotions.dispatch(offer.promotion_id, send=lambda *a, **k: None)
    resume_at = promotions.pause(offer.promotion_id)
    assert logged == [("promotion paused: daily quota", {
        "promotion_id": offer.promotion_id, "resume_at": clock.iso(resume_at)})]


def test_resends_of_each_variant_are_counted_and_made_at_the_sweep_s_time(moto_world):
    first, second = _members(2)
    offer = promotions.create("offer", "Two resends", "Body", variants=[
        {"subject": "Two resends", "text": "A"}, {"subject": "Two resends B", "text": "B"}])
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    start = moto_world.clock.now()
    for member_id, variant in ((first, 0), (second, 1)):
        Delivery(pid, member_id, status="claimed", attempt="dead", at=start,
                 expires_at=start + timedelta(days=1), variant=variant).save()
    sweep = start + timedelta(hours=2)           # the sweep's time, given (the clock lags)
    assert promotions.reconcile_claims(now=sweep).resent >= 2
    for member_id in (first, second):
        entry = Delivery.get(pid, member_id, consistent_read=True)
        assert (entry.status, entry.at) == ("sent", sweep)


def test_a_confirmed_claim_counts_a_delivery_and_no_failure(moto_world):
    from chalicelib.statistics import counters

    offer = promotions.create("offer", "Confirmed only", "Body")
    pid = offer.promotion_id
    promotions.dispatch(pid, send=lambda *a, **k: None)
    _claim(pid, "m-confirmed-only", moto_world.clock.now(), confirmed="ses-only")
    day = moto_world.clock.now().date()

    def today(metric):
        return counters.daily(metric, day, day, dimension="offer").get(day, 0)

    before = today("promotion_deliveries"), today(sending.FAILURES_METRIC)
    moto_world.clock.advance(2 * 3600)
    promotions.reconcile_claims()
    assert _status(pid, "m-confirmed-only") == "sent"
    assert (today("promotion_deliveries"), today(sending.FAILURES_METRIC)) == (
        before[0] + 1, before[1])
