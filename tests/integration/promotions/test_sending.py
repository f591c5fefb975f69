"""Promotional sending against DynamoDB Local and the local SES server."""
import json
import urllib.parse

import pytest

from chalicelib import members, promotions
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim, Member
from chalicelib.platform import clock, mail
from chalicelib.platform.errors import ValidationError
from chalicelib.promotions import sending
from chalicelib.promotions.models import Delivery
from tests.integration.partner_helpers import new_partner
from tests.integration.promotion_helpers import make_member, received, recipients, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def test_an_offer_reaches_exactly_the_eligible_members_once(mailbox):
    eligible = [make_member(mailbox)[0] for _ in range(3)]
    no_consent = make_member(mailbox, offers=False)[0]
    unverified = make_member(mailbox, verified=False)[0]
    suppressed_email, suppressed_id = make_member(mailbox)
    members.suppress(suppressed_email, "bounce")
    deleted_email, deleted_id = make_member(mailbox)
    from chalicelib import privacy
    privacy.erase_member(deleted_id)

    offer = promotions.create("offer", unique_subject("Spring offer"), "Save 20% on backups.")
    promotions.dispatch(offer.promotion_id)
    got = recipients(mailbox, offer)
    for email in eligible:
        assert got.count(email) == 1
    for email in (no_consent, unverified, suppressed_email, deleted_email):
        assert email not in got
    assert promotions.get(offer.promotion_id).status == "sent"
    assert promotions.delivery_counts(promotions.get(offer.promotion_id)).delivered == len(got)


def test_every_message_carries_one_click_unsubscribe_and_the_postal_address(client, mailbox):
    email, member_id = make_member(mailbox)
    offer = promotions.create("offer", unique_subject("Headers"), "Hello <members> & friends")
    promotions.dispatch(offer.promotion_id)
    mail = received(mailbox, offer, email)[0]
    headers = {h["name"]: h["value"] for h in mail["headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://127.0.0.1:") and "/unsubscribe?token=" in url
    assert email not in url and member_id in url  # names the member, never the address
    assert url in mail["body"]["text"] and url in mail["body"]["html"]
    assert "1 Market Street" in mail["body"]["text"] and "1 Market Street" in mail["body"]["html"]
    assert "&lt;members&gt; &amp; friends" in mail["body"]["html"]  # text is escaped into HTML

    path = url.split("127.0.0.1:")[1].split("/", 1)[1]
    page = client.http.get("/" + path)          # a link scanner opening the link...
    assert page.status_code == 200 and "Unsubscribe" in page.body.decode()
    assert consent.is_granted(Member.get(member_id, consistent_read=True), "offers")  # ...changes nothing
    one_click = client.http.post("/" + path, body=b"List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200       # no cookie, no login
    member = Member.get(member_id, consistent_read=True)
    assert not consent.is_granted(member, "offers")
    assert consent.is_granted(member, "partner_promotions")  # only that e-mail's purpose
    assert consent.history(member_id)[-1].source == "unsubscribe_link"


@pytest.mark.parametrize("token", ["", "garbage", "a.o.b", "x" * 300])
def test_a_forged_unsubscribe_token_changes_nothing(client, token):
    response = client.http.post("/unsubscribe?token=" + urllib.parse.quote(token),
                                body=b"List-Unsubscribe=One-Click",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def test_a_token_for_one_purpose_cannot_be_turned_into_another(mailbox):
    _, member_id = make_member(mailbox)
    token = promotions.unsubscribe_token(member_id, "offers")
    forged = token.replace(".o.", ".p.")
    with pytest.raises(ValidationError):
        promotions.unsubscribe(forged)
    assert consent.is_granted(Member.get(member_id, consistent_read=True), "partner_promotions")


def _promotion(kind):
    if kind == "offer":
        return promotions.create("offer", unique_subject("Last second"), "Body")
    partner_id, _ = new_partner("Last second")
    created = promotions.create("partner", unique_subject("Last second"), "Body",
                                partner_id=partner_id)
    return promotions.approve(created.promotion_id)


@pytest.mark.parametrize("kind, purpose, other", [("offer", "offers", "partner_promotions"),
                                                  ("partner", "partner_promotions", "offers")])
def test_a_withdrawal_between_planning_and_sending_is_honoured(mailbox, kind, purpose, other):
    """The audience is planned first; a member who withdraws that purpose before their batch
    is sent gets nothing, and one who withdraws the other purpose still gets it."""
    keeps, _ = make_member(mailbox)
    leaves, leaver_id = make_member(mailbox)
    changes_other, other_id = make_member(mailbox)
    promotion = _promotion(kind)

    planned = set()

    def withdraw_then_send(promotion_id, batch):
        # Each change lands after the member was planned into a batch, before it is sent.
        if leaver_id in batch:
            planned.add(leaver_id)
            consent.change(leaver_id, {purpose: False}, Provenance("preference_center"))
        if other_id in batch:
            planned.add(other_id)
            consent.change(other_id, {other: False}, Provenance("preference_center"))
        promotions.send_batch(promotion_id, batch)

    promotions.dispatch(promotion.promotion_id, send=withdraw_then_send)
    assert planned == {leaver_id, other_id}
    assert len(received(mailbox, promotion, keeps)) == 1
    assert received(mailbox, promotion, leaves) == []
    assert len(received(mailbox, promotion, changes_other)) == 1


def test_a_worker_killed_after_k_of_n_batches_then_retried_sends_each_exactly_once(mailbox):
    emails = [make_member(mailbox, tag="fault")[0] for _ in range(12)]
    offer = promotions.create("offer", unique_subject("Fault"), "Body")
    batches = list(promotions.batches(members.audience_ids("offers"), size=4))
    assert len(batches) >= 3

    class Killed(Exception):
        pass

    done = []

    def crash_after_two(promotion_id, batch):
        if len(done) == 2:
            raise Killed()
        promotions.send_batch(promotion_id, batch)
        done.append(batch)

    with pytest.raises(Killed):
        promotions.dispatch(offer.promotion_id, send=crash_after_two, batch_size=4)
    sent_before = len(received(mailbox, offer))
    assert 0 < sent_before < len(batches) * 4
    # The queue redelivers: every batch runs again (the finished ones included).
    promotions.dispatch(offer.promotion_id,
                        send=lambda pid, batch: promotions.send_batch(pid, batch), batch_size=4)
    got = recipients(mailbox, offer)
    for email in emails:
        assert got.count(email) == 1
    assert len(got) == len(set(got))


def test_a_second_container_sends_with_the_template_the_first_one_made(mailbox):
    """Each container makes a promotion's template on its first batch; a second container
    (the worker, after the console's test send) finds it made and sends with it."""
    email = make_member(mailbox, tag="template")[0]
    offer = promotions.create("offer", unique_subject("Two containers"), "Same template.")
    name = sending.ensure_template(offer)
    mail.forget_created_templates()                            # a fresh container
    assert sending.ensure_template(offer) == name
    promotions.dispatch(offer.promotion_id)
    assert email in recipients(mailbox, offer)
    assert promotions.get(offer.promotion_id).status == "sent"


class CrashAfterSending:
    """The real sender, and the worker dies right after SES accepted the batch (once)."""

    def __init__(self, real):
        self.real, self.crashed = real, False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def send_bulk(self, *args, **kwargs):
        results = self.real.send_bulk(*args, **kwargs)
        if not self.crashed:
            self.crashed = True
            raise OSError("killed")
        return results


def test_a_crash_between_ses_and_the_ledger_never_duplicates(mailbox):
    email, member_id = make_member(mailbox)
    offer = promotions.create("offer", unique_subject("Ledger"), "Body")
    with mail.use_sender(CrashAfterSending(mail.SesSender())):
        with pytest.raises(OSError):
            promotions.send_batch(offer.promotion_id, [member_id])
        promotions.send_batch(offer.promotion_id, [member_id])
    assert len(received(mailbox, offer, email)) == 1
    # The same batch delivered twice by the queue: still one message.
    promotions.send_batch(offer.promotion_id, [member_id])
    assert len(received(mailbox, offer, email)) == 1


class ThrottlingSender:
    """The real sender, throttled for its first ``times`` bulk calls (fault injection): the
    whole call refused, or every entry answered with a transient failure."""

    def __init__(self, real, times, per_entry=False):
        self.real, self.times, self.per_entry, self.calls = real, times, per_entry, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def send_bulk(self, template, data, headers, entries, tags=()):
        self.calls += 1
        if self.calls <= self.times:
            if self.per_entry:
                return [mail.BulkResult("retry") for _ in entries]
            raise mail.ThrottledError()
        return self.real.send_bulk(template, data, headers, entries, tags=tags)


@pytest.mark.parametrize("per_entry", [False, True])
def test_ses_throttling_backs_off_and_loses_or_duplicates_nothing(mailbox, per_entry):
    emails = [make_member(mailbox, tag="throttle")[0] for _ in range(3)]
    ids = [EmailClaim.get(e).member_id for e in emails]
    offer = promotions.create("offer", unique_subject("Throttle"), "Body")
    throttled = ThrottlingSender(mail.SesSender(), times=2, per_entry=per_entry)
    with mail.use_sender(throttled), clock.use(clock.FakeClock()) as fake:
        result = promotions.send_batch(offer.promotion_id, ids)
    assert result.delivered == 3 and throttled.calls == 3
    assert len([s for s in fake.slept if s > 0.001]) >= 2  # it backed off between calls
    for email in emails:
        assert len(received(mailbox, offer, email)) == 1


def test_persistent_throttling_returns_the_batch_to_the_queue_with_claims_released(mailbox):
    from chalicelib.platform.errors import UnavailableError

    email, member_id = make_member(mailbox)
    offer = promotions.create("offer", unique_subject("Storm"), "Body")
    throttled = ThrottlingSender(mail.SesSender(), times=100)
    with mail.use_sender(throttled), clock.use(clock.FakeClock()):
        with pytest.raises(UnavailableError):
            promotions.send_batch(offer.promotion_id, [member_id])
    with pytest.raises(Delivery.DoesNotExist):
        Delivery.get(offer.promotion_id, member_id)  # released, so a redelivery will send
    promotions.send_batch(offer.promotion_id, [member_id])
    assert len(received(mailbox, offer, email)) == 1


def test_the_sqs_worker_sends_a_batch_and_refuses_poison(client, mailbox):
    email, member_id = make_member(mailbox)
    offer = promotions.create("offer", unique_subject("Queue"), "Body")
    body = json.dumps({"promotion_id": offer.promotion_id, "member_ids": [member_id]})
    event = client.events.generate_sqs_event(message_bodies=[body], queue_name="eso-sends")
    client.lambda_.invoke("send_worker", event)
    assert len(received(mailbox, offer, email)) == 1
    for poison in ("not json", json.dumps({"promotion_id": 5}), json.dumps({"member_ids": []})):
        with pytest.raises(ValueError):
            client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                message_bodies=[poison], queue_name="eso-sends"))


def _ses_event(kind, email, bounce_type="Permanent"):
    if kind == "Bounce":
        return {"eventType": "Bounce", "bounce": {"bounceType": bounce_type,
                                                  "bouncedRecipients": [{"emailAddress": email}]}}
    return {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": email}]}}


@pytest.mark.parametrize("kind, source", [("Bounce", "bounce"), ("Complaint", "complaint")])
def test_permanent_bounces_and_complaints_suppress_and_withdraw(client, mailbox, kind, source):
    email, member_id = make_member(mailbox)
    event = client.events.generate_sns_event(message=json.dumps(_ses_event(kind, email)))
    client.lambda_.invoke("ses_events", event)
    member = Member.get(member_id, consistent_read=True)
    assert member.suppressed and member.aud_offers is None and member.aud_partner_promotions is None
    assert not consent.is_granted(member, "offers")
    assert not consent.is_granted(member, "partner_promotions")
    assert [e.source for e in consent.history(member_id)[-2:]] == [source, source]
    offer = promotions.create("offer", unique_subject("After bounce"), "Body")
    promotions.dispatch(offer.promotion_id)
    assert received(mailbox, offer, email) == []


def test_a_transient_bounce_changes_nothing(client, mailbox):
    email, member_id = make_member(mailbox)
    client.lambda_.invoke("ses_events", client.events.generate_sns_event(
        message=json.dumps(_ses_event("Bounce", email, bounce_type="Transient"))))
    member = Member.get(member_id, consistent_read=True)
    assert not member.suppressed and consent.is_granted(member, "offers")


def test_partner_content_cannot_reach_into_the_template(mailbox):
    from chalicelib.platform.errors import ValidationError

    for subject, text in (("Hi {{unsubscribe_url}}", "x"), ("Hi", "{{#each}}"),
                          ("Two\nlines", "x"), ("", "x"), ("ok", "")):
        with pytest.raises(ValidationError):
            promotions.create("partner", subject, text, partner_id="p1")


def test_a_pending_or_rejected_promotion_is_never_sent(mailbox):
    from chalicelib.platform.errors import ConflictError

    email, member_id = make_member(mailbox)
    pending = promotions.create("partner", unique_subject("Pending"), "Body", partner_id="p1")
    with pytest.raises(ConflictError):
        promotions.dispatch(pending.promotion_id)
    assert promotions.send_batch(pending.promotion_id, [member_id]).delivered == 0
    promotions.reject(pending.promotion_id)
    with pytest.raises(ConflictError):
        promotions.approve(pending.promotion_id)
    assert received(mailbox, pending) == []


def test_the_export_lists_the_promotions_a_member_received(mailbox):
    from chalicelib import privacy

    _, member_id = make_member(mailbox)
    first = promotions.create("offer", unique_subject("Export one"), "Body")
    second = promotions.create("offer", unique_subject("Export two"), "Body")
    for offer in (first, second):
        promotions.send_batch(offer.promotion_id, [member_id])
    received_list = privacy.export_member(member_id)["promotions_received"]
    assert [(r["subject"], r["status"]) for r in received_list] == [
        (first.subject, "sent"), (second.subject, "sent")]
