"""Sending without servers, beyond the rules: planning into batches, the queue's messages, the
delivery ledger, SES throttling and failures, pacing, counts, and what the mail says."""
import json
import math
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from chalicelib import members, partners, promotions
from chalicelib.members import consent
from chalicelib.members.consent import Provenance
from chalicelib.platform import mail
from chalicelib.platform.errors import ConflictError, UnavailableError
from chalicelib.platform.vocabulary import OFFER, PARTNER
from chalicelib.promotions import sending
from chalicelib.promotions.models import Delivery, Promotion
from chalicelib.statistics import counters

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)  # the fake clock's time
PASSWORD = "correct horse battery staple"


def member(offers=True, partner_promotions=True) -> tuple:
    email = f"send-{uuid.uuid4().hex[:12]}@example.org"
    member_id = members.register_confirmed(members.Registration(
        email=email, password=PASSWORD,
        consents={"offers": offers, "partner_promotions": partner_promotions}),
        Provenance("registration", "/unit"))
    return member_id, email


def offer(subject="Backup, 30% off", text="Line one\nLine <two>", html=None):
    return promotions.create(OFFER, subject, text, html)


def partner_promotion(approve=True, privacy_policy_url="https://shop.example/privacy"):
    partner = partners.create("Desk & Co", "https://shop.example/",
                              privacy_policy_url=privacy_policy_url)
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id)
    if approve:
        promotions.approve(promotion.promotion_id)
    return promotion, partner.partner_id


def ledger(promotion_id, member_id):
    try:
        return Delivery.get(promotion_id, member_id, consistent_read=True)
    except Delivery.DoesNotExist:
        return None


class FlakySes(mail.Outbox):
    """The outbox, with SES's answers scripted: 'throttle' refuses a whole call, a set of
    addresses gets 'retry' for its entries, 'boom' raises an unexpected error."""

    def __init__(self, script=()):
        super().__init__()
        self.script = list(script)
        self.calls = 0

    def send_bulk(self, template, default_data, default_headers, entries, tags=()):
        self.calls += 1
        step = self.script.pop(0) if self.script else None
        if step == "throttle":
            raise mail.ThrottledError()
        if step == "boom":
            raise RuntimeError("SES answered nonsense")
        if isinstance(step, set):
            kept = [e for e in entries if e.to not in step]
            sent = iter(super().send_bulk(template, default_data, default_headers, kept, tags))
            return [mail.BulkResult("retry") if e.to in step else next(sent) for e in entries]
        return super().send_bulk(template, default_data, default_headers, entries, tags)


# --- planning ------------------------------------------------------------------------------------


def test_planning_puts_each_eligible_member_in_exactly_one_batch(moto_world):
    ours = {member()[0] for _ in range(5)}
    refused = member(offers=False)[0]
    promotion = offer()
    batches, progress = [], []
    count = promotions.dispatch(promotion.promotion_id, send=lambda p, b: batches.append((p, b)),
                                progress=progress.append, batch_size=2)
    planned = [m for _, b in batches for m in b]
    assert ours <= set(planned) and refused not in planned
    assert len(planned) == len(set(planned))
    assert {p for p, _ in batches} == {promotion.promotion_id}
    assert all(len(b) == 2 for _, b in batches[:-1]) and 1 <= len(batches[-1][1]) <= 2
    assert count == len(batches) == math.ceil(len(planned) / 2)
    assert progress == list(range(1, count + 1))
    assert promotions.get(promotion.promotion_id).status == "sent"


def test_batches_are_cut_at_the_size_and_the_rest_kept():
    assert list(sending.batches(iter("abcde"), 2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(sending.batches(iter("abcd"), 2)) == [["a", "b"], ["c", "d"]]
    assert list(sending.batches(iter(""), 2)) == []
    assert [len(b) for b in sending.batches(map(str, range(120)))] == [50, 50, 20]


def test_only_an_approved_promotion_is_sent(moto_world, says):
    pending, _ = partner_promotion(approve=False)
    with pytest.raises(ConflictError) as refused:
        promotions.dispatch(pending.promotion_id, send=lambda p, b: None)
    assert refused.value.code == "invalid_state"
    assert says(refused.value, "pending_review: only an approved promotion is sent")
    assert promotions.get(pending.promotion_id).status == "pending_review"
    done = offer()
    promotions.dispatch(done.promotion_id, send=lambda p, b: None)
    with pytest.raises(ConflictError):
        promotions.dispatch(done.promotion_id, send=lambda p, b: None)


def test_an_interrupted_plan_can_be_run_again(moto_world):
    promotion = offer()
    Promotion.get(promotion.promotion_id).update(actions=[Promotion.status.set("sending")])
    promotions.dispatch(promotion.promotion_id, send=lambda p, b: None)
    assert promotions.get(promotion.promotion_id).status == "sent"


def test_without_a_queue_the_batches_are_sent_at_once(moto_world):
    member_id, email = member()
    promotion = offer()
    promotions.dispatch(promotion.promotion_id)
    assert len(moto_world.outbox.to(email)) == 1
    assert ledger(promotion.promotion_id, member_id).status == "sent"


def test_with_a_queue_each_batch_is_one_message_for_the_worker(moto_world, monkeypatch):
    member_id, email = member()
    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName="eso-unit-send")["QueueUrl"]
    monkeypatch.setenv("ESO_SEND_QUEUE", "eso-unit-send")
    promotion = offer()
    count = promotions.dispatch(promotion.promotion_id, batch_size=50)
    received = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in received]
    assert len(bodies) == count
    assert all(set(b) == {"promotion_id", "member_ids"} for b in bodies)
    assert {b["promotion_id"] for b in bodies} == {promotion.promotion_id}
    assert member_id in {m for b in bodies for m in b["member_ids"]}
    assert moto_world.outbox.to(email) == []  # nothing sent before the worker runs
    monkeypatch.delenv("ESO_SEND_QUEUE")
    result = promotions.handle_queue_message(json.dumps(
        {"promotion_id": promotion.promotion_id, "member_ids": [member_id]}))
    assert result == (1, 0, 0) and len(moto_world.outbox.to(email)) == 1


@pytest.mark.parametrize("body", [
    "[]", '"text"', '{"member_ids": []}', '{"promotion_id": 5, "member_ids": []}',
    '{"promotion_id": "p"}', '{"promotion_id": "p", "member_ids": "m"}',
    '{"promotion_id": "p", "member_ids": ["m", 5]}',
    json.dumps({"promotion_id": "p", "member_ids": [str(n) for n in range(51)]}),
])
def test_a_malformed_queue_message_is_refused(body):
    with pytest.raises(ValueError, match="^malformed send batch$"):
        promotions.handle_queue_message(body)


def test_a_full_batch_of_fifty_is_accepted_from_the_queue(moto_world):
    promotion = offer()
    ids = [f"gone-{n}" for n in range(50)]
    result = promotions.handle_queue_message(json.dumps(
        {"promotion_id": promotion.promotion_id, "member_ids": ids}))
    assert result == (0, 50, 0)


# --- the batch -----------------------------------------------------------------------------------


def test_a_batch_sends_to_the_eligible_and_records_each_in_the_ledger(moto_world):
    yes_id, yes = member()
    no_id, _ = member(offers=False)
    promotion = offer()
    result = promotions.send_batch(promotion.promotion_id, [yes_id, no_id, "no-such-member"])
    assert result == sending.BatchResult(delivered=1, skipped=2, failed=0)
    [sent] = moto_world.outbox.to(yes)
    entry = ledger(promotion.promotion_id, yes_id)
    assert (entry.status, entry.at, entry.expires_at) == ("sent", START,
                                                          START + timedelta(days=400))
    assert entry.message_id and entry.message_id.startswith("outbox-")
    assert ledger(promotion.promotion_id, no_id) is None
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.skipped, stored.failed) == (1, 2, 0)


def test_the_counts_add_up_over_batches_and_the_deliveries_are_counted_by_kind(moto_world):
    day = START.date()
    before = counters.daily("promotion_deliveries", day, day, dimension="offer").get(day, 0)
    first, second = member()[0], member()[0]
    failing_id, failing = member()
    moto_world.outbox.fail_for.add(failing)
    promotion = offer()
    promotions.send_batch(promotion.promotion_id, [first, "gone"])
    promotions.send_batch(promotion.promotion_id, [second, failing_id, first])
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.skipped, stored.failed) == (2, 2, 1)
    assert ledger(promotion.promotion_id, failing_id).status == "failed"
    after = counters.daily("promotion_deliveries", day, day, dimension="offer").get(day, 0)
    assert after == before + 2


def test_a_batch_with_nothing_to_do_counts_nothing(moto_world):
    promotion = offer()
    assert promotions.send_batch(promotion.promotion_id, []) == (0, 0, 0)
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.skipped, stored.failed) == (0, 0, 0)


def test_a_batch_of_a_promotion_not_approved_sends_nothing(moto_world):
    member_id, email = member()
    pending, _ = partner_promotion(approve=False)
    assert promotions.send_batch(pending.promotion_id, [member_id, "x"]) == (0, 2, 0)
    rejected, _ = partner_promotion(approve=False)
    promotions.reject(rejected.promotion_id)
    assert promotions.send_batch(rejected.promotion_id, [member_id]) == (0, 1, 0)
    assert moto_world.outbox.to(email) == []


def test_a_late_batch_of_a_sent_promotion_still_goes_out(moto_world):
    member_id, email = member()
    promotion = offer()
    promotions.dispatch(promotion.promotion_id, send=lambda p, b: None)
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1


def test_a_disabled_partner_s_promotion_stops_at_once(moto_world):
    member_id, email = member()
    promotion, partner_id = partner_promotion()
    partners.disable(partner_id)
    assert promotions.send_batch(promotion.promotion_id, [member_id]) == (0, 1, 0)
    assert moto_world.outbox.to(email) == []


def test_an_approved_partner_promotion_goes_to_members_who_consent_to_partners(moto_world):
    member_id, email = member(offers=False)
    promotion, _ = partner_promotion()
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1
    [sent] = moto_world.outbox.to(email)
    url = sent["data"]["unsubscribe_url"]
    assert url == promotions.unsubscribe_url(member_id, "partner_promotions")
    assert dict(sent["headers"])["List-Unsubscribe"] == f"<{url}>"


def test_members_claimed_by_another_worker_are_skipped_and_the_rest_sent(moto_world):
    taken_id, taken = member()
    free_id, free = member()
    promotion = offer()
    Delivery(promotion.promotion_id, taken_id, status="claimed", attempt="other", at=START,
             expires_at=START + timedelta(days=1)).save()
    result = promotions.send_batch(promotion.promotion_id, [taken_id, free_id])
    assert result == (1, 1, 0)
    assert moto_world.outbox.to(taken) == [] and len(moto_world.outbox.to(free)) == 1
    assert ledger(promotion.promotion_id, taken_id).attempt == "other"


def test_a_throttled_call_is_retried_after_a_pause(moto_world):
    member_id, email = member()
    promotion = offer()
    with mail.use_sender(FlakySes(["throttle", "throttle"])) as ses:
        delivered = []
        result = promotions.send_batch(promotion.promotion_id, [member_id],
                                       after_send=delivered.append)
    assert result == (1, 0, 0) and ses.calls == 3 and len(ses.to(email)) == 1
    assert delivered == [0, 0, 1]
    pauses = [s for s in moto_world.clock.slept if s > 0.002]  # (not the send-rate pacing)
    assert len(pauses) == 2
    assert 0.025 <= pauses[0] <= 0.05 and 0.05 <= pauses[1] <= 0.1


def test_entries_ses_asks_to_retry_are_sent_again_and_only_they(moto_world):
    first_id, first = member()
    second_id, second = member()
    promotion = offer()
    with mail.use_sender(FlakySes([{second}])) as ses:
        result = promotions.send_batch(promotion.promotion_id, [first_id, second_id])
    assert result == (2, 0, 0) and ses.calls == 2
    assert len(ses.to(first)) == 1 and len(ses.to(second)) == 1
    assert ledger(promotion.promotion_id, second_id).status == "sent"


def test_when_ses_keeps_throttling_the_batch_is_given_back_and_sent_later(moto_world):
    member_id, email = member()
    promotion = offer()
    with mail.use_sender(FlakySes(["throttle"] * (sending.SES_RETRIES + 1))) as ses:
        with pytest.raises(UnavailableError,
                           match=r"^SES keeps throttling\. The batch will be retried\.$"):
            promotions.send_batch(promotion.promotion_id, [member_id])
    assert ses.calls == sending.SES_RETRIES + 1 and ses.sent == []
    assert ledger(promotion.promotion_id, member_id) is None  # the claim was released
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.skipped, stored.failed) == (0, 0, 0)
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1
    assert len(moto_world.outbox.to(email)) == 1


def test_a_member_whose_message_may_have_gone_out_is_never_sent_it_again(moto_world):
    member_id, email = member()
    other_id, other = member()
    promotion = offer()
    with mail.use_sender(FlakySes([{other}, "boom"])) as ses:
        with pytest.raises(RuntimeError):
            promotions.send_batch(promotion.promotion_id, [member_id, other_id])
    assert len(ses.to(email)) == 1
    # The call that failed was in flight for ``other``: its claim stays, at most once.
    assert ledger(promotion.promotion_id, other_id).status == "claimed"
    assert promotions.send_batch(promotion.promotion_id, [member_id, other_id]) == (0, 2, 0)
    assert moto_world.outbox.to(other) == []


def test_a_failure_before_the_call_keeps_the_claims_at_most_once(moto_world, monkeypatch):
    member_id, email = member()
    promotion = offer()

    def unavailable(promotion, recipients, variant=None):
        raise UnavailableError("templates are unavailable")

    monkeypatch.setattr(sending, "_send_bulk", unavailable)
    with pytest.raises(UnavailableError):
        promotions.send_batch(promotion.promotion_id, [member_id])
    assert ledger(promotion.promotion_id, member_id).status == "claimed"
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.skipped, stored.failed) == (0, 0, 0)


def test_a_claim_is_released_only_by_its_own_attempt_and_only_while_claimed(moto_world):
    promotion = offer()
    for status in ("claimed", "sent"):
        member_id = f"m-{status}"
        Delivery(promotion.promotion_id, member_id, status=status, attempt="a1", at=START,
                 expires_at=START + timedelta(days=1)).save()
        sending._release(promotion.promotion_id, [member_id], "a2")
        assert ledger(promotion.promotion_id, member_id).status == status
    sending._release(promotion.promotion_id, ["m-claimed", "m-sent"], "a1")
    assert ledger(promotion.promotion_id, "m-claimed") is None
    assert ledger(promotion.promotion_id, "m-sent").status == "sent"


def test_sending_keeps_to_the_configured_rate(moto_world, monkeypatch):
    monkeypatch.setenv("ESO_SEND_RATE", "4")
    monkeypatch.setattr(sending, "_last_send", [0.0])
    sending._pace(2)
    assert moto_world.clock.slept == []
    sending._pace(2)  # two more at 4 per second: half a second after the last
    assert moto_world.clock.slept == [0.5]
    moto_world.clock.advance(0.2)
    sending._pace(4)
    assert moto_world.clock.slept == [0.5, pytest.approx(0.8)]
    moto_world.clock.advance(5)
    sending._pace(1)
    assert len(moto_world.clock.slept) == 2


def test_a_clock_that_jumped_back_never_means_a_long_wait(moto_world, monkeypatch):
    monkeypatch.setenv("ESO_SEND_RATE", "1")
    monkeypatch.setattr(sending, "_last_send", [moto_world.clock.monotonic() + 3600])
    sending._pace(1)
    assert moto_world.clock.slept == []
    assert sending._last_send == [moto_world.clock.monotonic()]


# --- what the mail says --------------------------------------------------------------------------


def test_an_offer_names_eso_its_purpose_the_unsubscribe_link_and_the_postal_address(moto_world):
    promotion = offer(text="Line one\nLine <two>")
    subject, text, html = sending.render_content(promotion)
    assert subject == "Backup, 30% off"
    assert text.startswith("Line one\nLine <two>\n")
    assert "You receive this because you agreed to receive special offers and services " \
           "from eSmallOffice." in text
    assert "Unsubscribe with one click: {{unsubscribe_url}}" in text
    assert "Or change your choices at https://eso.example/account" in text
    assert "1 Market Street, Springfield" in text and "1 Market Street, Springfield" in html
    assert "This promotion is from" not in text
    assert "Line one<br>\nLine &lt;two&gt;" in html
    assert '<a href="{{unsubscribe_url}}">Unsubscribe with one click</a>' in html


def test_a_partner_promotion_names_the_partner_and_its_privacy_policy(moto_world):
    promotion, _ = partner_promotion()
    subject, text, html = sending.render_content(promotions.get(promotion.promotion_id))
    assert "This promotion is from Desk &amp; Co." in html
    assert "This promotion is from Desk & Co. eSmallOffice sent it to you; Desk & Co did not " \
           "receive your e-mail address." in text
    assert "Desk & Co's privacy policy: https://shop.example/privacy" in text
    assert "product promotions from eSmallOffice's marketing partners" in text
    assert "product promotions from eSmallOffice&#39;s marketing partners" in html


def test_the_html_of_a_promotion_is_used_as_cleaned(moto_world):
    promotion = offer(text="Plain", html="<p>Rich <b>offer</b></p>")
    _, text, html = sending.render_content(promotion)
    assert "<p>Rich <b>offer</b></p>" in html and text.startswith("Plain")


def test_the_sender_shown_is_eso_or_the_partner(moto_world):
    assert sending._sender(offer()) == {"name": "eSmallOffice", "privacy_policy_url": None}
    promotion, _ = partner_promotion()
    assert sending._sender(promotions.get(promotion.promotion_id)) == {
        "name": "Desk & Co", "privacy_policy_url": "https://shop.example/privacy"}


def test_each_promotion_has_its_own_template_on_the_stage(moto_world):
    member_id, email = member()
    promotion = offer()
    name = sending.ensure_template(promotion)
    assert name == f"eso-dev-promotion-{promotion.promotion_id}"
    assert moto_world.outbox.templates[name] == sending.render_content(promotion)
    promotions.send_batch(promotion.promotion_id, [member_id])
    [sent] = moto_world.outbox.to(email)
    assert sent["template"] == name and sent["subject"] == "Backup, 30% off"
    headers = dict(sent["headers"])
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent["headers"][0] == ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")


def test_a_member_who_withdrew_from_offers_still_gets_partner_promotions(moto_world):
    member_id, email = member()
    consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    promotion, _ = partner_promotion()
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1
    assert promotions.send_batch(offer().promotion_id, [member_id]).skipped == 1


def test_the_preview_is_the_mail_a_member_receives(moto_world):
    member_id, email = member(offers=False)
    promotion, _ = partner_promotion()
    promotions.send_batch(promotion.promotion_id, [member_id])
    [sent] = moto_world.outbox.to(email)
    url = sent["data"]["unsubscribe_url"]
    token = url.split("?token=", 1)[1]
    pause = sent["data"]["snooze_token"]
    assert pause == promotions.snooze_token(member_id)
    subject, text, html = moto_world.outbox.templates[sent["template"]]
    received_text = text.replace(sending.UNSUBSCRIBE_VARIABLE, url).replace(
        sending.SNOOZE_VARIABLE, pause)
    received_html = html.replace(sending.UNSUBSCRIBE_VARIABLE, url).replace(
        sending.SNOOZE_VARIABLE, pause)
    assert url in received_text and url in received_html
    for period in ("two_weeks", "one_month", "three_months"):
        link = promotions.snooze_url(member_id, period)
        assert link in received_text and link.replace("&", "&amp;") in received_html

    shown = sending.preview(promotion.promotion_id, token, pause)
    assert shown["promotion"].promotion_id == promotion.promotion_id
    assert (shown["subject"], shown["text"], shown["html"]) == (
        subject, received_text, received_html)
    assert shown["headers"] == dict(sent["headers"]) == {
        "List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert shown["from"] == "eSO <no-reply@eso.example>"
    assert shown["footer"].startswith("This promotion is from Desk & Co.")
    assert shown["footer"].endswith("eSmallOffice · 1 Market Street, Springfield")
    assert f"Unsubscribe with one click: {url}\n" in shown["footer"]
    assert shown["text"] == f"Body\n\n--\n{shown['footer']}"


def test_the_preview_shows_where_each_member_s_own_link_goes(moto_world):
    shown = sending.preview(offer(text="Plain").promotion_id)
    url = "https://eso.example/unsubscribe?token=[each member's own token]"
    assert f"Unsubscribe with one click: {url}" in shown["text"]
    assert f'<a href="{url.replace(chr(39), "&#39;")}">' in shown["html"]
    assert shown["headers"]["List-Unsubscribe"] == f"<{url}>"
    assert shown["footer"].startswith("You receive this because you agreed to receive special offers")


def test_the_preview_of_each_variant_is_that_variant_s_mail_with_its_own_links(moto_world):
    partner = partners.create("Chair & Co", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id,
                                  variants=[
                                      {"subject": "Desks", "text": "Desks: https://shop.example/desks"},
                                      {"subject": "Chairs", "text": "Chairs: https://shop.example/chairs"
                                                                    " and https://shop.example/desks"}])
    pid = promotion.promotion_id
    targets = ["https://shop.example/desks", "https://shop.example/chairs"]
    first = sending.preview(pid)                    # the first variant when none is named
    assert {k: v for k, v in sending.preview(pid, variant=0).items() if k != "promotion"} == {
        k: v for k, v in first.items() if k != "promotion"}
    second = sending.preview(pid, variant=1)
    for shown, variant, subject in ((first, 0, "Desks"), (second, 1, "Chairs")):
        assert shown["variant"] == "AB"[variant] and shown["subject"] == subject
        assert shown["links"] == [
            {"link": n + 1, "url": sending.click_url(pid, variant, n), "target": target}
            for n, target in enumerate(targets)]
        assert shown["text"].startswith(f"{subject}: ")
        assert "token=[each member's own pause token]&" in shown["text"]
        assert shown["footer"].startswith("This promotion is from Chair & Co.")
        assert shown["text"].endswith(f"\n\n--\n{shown['footer']}")
    assert first["text"].startswith(f"Desks: {sending.click_url(pid, 0, 0)}\n")
    assert second["text"].startswith(f"Chairs: {sending.click_url(pid, 1, 1)} and "
                                     f"{sending.click_url(pid, 1, 0)}\n")
    assert sending.click_url(pid, 1, 0) in second["html"] and "Chairs" in second["html"]
    with pytest.raises(ValueError):
        sending.preview(pid, variant=2)
    plain = sending.preview(offer(text="Plain").promotion_id)
    assert plain["variant"] is None and plain["links"] == []


def test_a_partner_batch_given_back_gives_back_the_member_s_allowance(moto_world):
    member_id, email = member()
    first, _ = partner_promotion()
    second, _ = partner_promotion()
    with mail.use_sender(FlakySes(["throttle"] * (sending.SES_RETRIES + 1))):
        with pytest.raises(UnavailableError):
            promotions.send_batch(first.promotion_id, [member_id])
    # The member got nothing from the first: their one partner promotion of the week is free.
    assert promotions.send_batch(second.promotion_id, [member_id]).delivered == 1
    assert promotions.send_batch(first.promotion_id, [member_id]).skipped == 1
    assert [m["subject"] for m in moto_world.outbox.to(email)] == ["Desks"]


def test_without_a_queue_each_member_of_an_a_b_test_gets_their_variant(moto_world):
    first, first_email = member()
    second, second_email = member()
    promotion = promotions.create(OFFER, "Backup A", "Body A", variants=[
        {"subject": "Backup A", "text": "Body A"}, {"subject": "Backup B", "text": "Body B"}])
    promotions.dispatch(promotion.promotion_id, batch_size=1)
    for member_id, email in ((first, first_email), (second, second_email)):
        variant = ledger(promotion.promotion_id, member_id).variant
        [sent] = moto_world.outbox.to(email)
        assert sent["subject"] == ("Backup A", "Backup B")[variant]


@pytest.mark.parametrize("resend", [False, True])
def test_a_claim_a_dying_worker_leaves_holds_its_variant_its_expiry_and_whether_it_was_a_resend(
        moto_world, monkeypatch, resend):
    member_id, _ = member()
    promotion = promotions.create(OFFER, "Claimed", "Body", variants=[
        {"subject": "Claimed", "text": "A"}, {"subject": "Claimed B", "text": "B"}])

    def dies(promotion, recipients, variant=None):
        raise UnavailableError("the worker died here")

    monkeypatch.setattr(sending, "_send_bulk", dies)
    with pytest.raises(UnavailableError):
        promotions.send_batch(promotion.promotion_id, [member_id], variant=1, resend=resend)
    entry = ledger(promotion.promotion_id, member_id)
    assert (entry.status, entry.variant, entry.resent) == ("claimed", 1, True if resend else None)
    assert entry.expires_at == moto_world.clock.now() + sending.LEDGER_TTL


def test_an_html_promotion_s_links_go_through_eso_in_the_html_part(moto_world):
    member_id, email = member()
    promotion = promotions.create(OFFER, "Linked", "See https://shop.example/desks",
                                  '<p>See <a href="https://shop.example/desks">desks</a></p>')
    promotions.send_batch(promotion.promotion_id, [member_id])
    [sent] = moto_world.outbox.to(email)
    _, text, html = moto_world.outbox.templates[sent["template"]]
    url = sending.click_url(promotion.promotion_id, 0, 0)
    assert f'<a href="{url}" rel="noopener noreferrer">desks</a>' in html
    assert 'href="https://shop.example/desks"' not in html
    assert f"See {url}" in text


@pytest.mark.parametrize("delivered, skipped, failed, held, handed_out, planned", [
    (5, 3, 2, 9, 4, 16),   # 2 claimed and not yet counted, 4 handed out now
    (5, 3, 2, 3, 4, 14),   # a ledger behind the counts: nothing in flight
    (0, 0, 0, 0, 7, 7),
])
def test_the_members_planned_are_those_counted_those_in_flight_and_those_handed_out(
        delivered, skipped, failed, held, handed_out, planned):
    from chalicelib.promotions.counts import Counts

    held_ids = {f"m-{n}": None for n in range(held)}
    assert sending._planned_total(Counts(delivered, skipped, failed), held_ids,
                                  handed_out) == planned


def test_an_offer_sent_by_hand_is_listed_with_the_recent_sends(moto_world):
    from chalicelib.promotions import progress

    promotion = offer(subject="Sent by hand")
    assert promotion.promotion_id not in {r["id"] for r in progress.recent_sends()}
    promotions.dispatch(promotion.promotion_id, send=lambda *a, **k: None)
    assert promotion.promotion_id in {r["id"] for r in progress.recent_sends()}


def _cancelled(code):
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    return TransactWriteError("The transaction was cancelled", cause=VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems", cancellation_reasons=[CancellationReason(code=code)]))


def _ledger_cancels(monkeypatch, code, times):
    """The delivery ledger's claim transaction cancelled ``times`` times with ``code``."""
    import contextlib

    real, left = sending.transaction, [times]

    @contextlib.contextmanager
    def cancelling():
        with real() as tx:
            yield tx
            if left[0]:
                left[0] -= 1
                raise _cancelled(code)

    monkeypatch.setattr(sending, "transaction", cancelling)


def test_a_claim_that_meets_another_transaction_leaves_the_batch_for_a_retry(moto_world,
                                                                           monkeypatch):
    member_id, email = member()
    promotion = offer(subject="Contended")
    _ledger_cancels(monkeypatch, "TransactionConflict", 1)
    with pytest.raises(UnavailableError):  # a 503 for SQS to give the batch again
        promotions.send_batch(promotion.promotion_id, [member_id])
    assert moto_world.outbox.to(email) == [] and ledger(promotion.promotion_id, member_id) is None
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1


def test_a_claim_cancelled_for_another_reason_is_not_tried_again(moto_world, monkeypatch):
    from pynamodb.exceptions import TransactWriteError

    member_id, email = member()
    promotion = offer(subject="Refused ledger")
    _ledger_cancels(monkeypatch, "ValidationError", 100)
    with pytest.raises(TransactWriteError):
        promotions.send_batch(promotion.promotion_id, [member_id])
    assert moto_world.outbox.to(email) == []


def test_a_plan_of_several_batches_counts_every_member_planned(moto_world):
    from chalicelib.promotions import progress

    member()
    member()
    promotion = offer(subject="Planned in batches")
    audience = sum(1 for _ in members.audience_ids("offers"))
    assert promotions.dispatch(promotion.promotion_id, send=lambda *a, **k: None,
                               batch_size=1) == audience
    [row] = [r for r in progress.recent_sends() if r["id"] == promotion.promotion_id]
    assert row["planned"] == audience


def test_a_plan_run_again_evens_out_the_variants_with_those_already_in_the_ledger(moto_world):
    """A promotion's plan run again (a resumed or interrupted one) gives the members left to the
    variants so that, with the members the ledger holds, each variant has about as many."""
    promotion = promotions.create(OFFER, "Split A", "Body A", variants=[
        {"subject": "Split A", "text": "Body A"}, {"subject": "Split B", "text": "Body B"}])
    pid = promotion.promotion_id
    for _ in range(6):        # six members already sent variant A before the plan stopped
        Delivery(pid, member()[0], status="sent", attempt="earlier", at=START, variant=0,
                 expires_at=START + timedelta(days=400)).save()
    for _ in range(10):
        member()
    planned = {0: 0, 1: 0}

    def collect(promotion_id, batch, variant=None):
        planned[variant] += len(batch)

    promotions.dispatch(pid, send=collect, batch_size=5)
    assert sum(planned.values()) >= 10
    assert abs((planned[0] + 6) - planned[1]) <= 1     # the six of A in the ledger, evened out


def test_each_variant_s_deliveries_the_skipped_and_the_day_s_failures_are_counted(moto_world):
    from chalicelib.promotions import progress

    today = moto_world.clock.now().date()
    promotion = promotions.create(OFFER, "Counted A", "Body A", variants=[
        {"subject": "Counted A", "text": "Body A"}, {"subject": "Counted B", "text": "Body B"}])
    pid = promotion.promotion_id
    sent_to, _ = member()
    refused = [member() for _ in range(2)]
    withdrew, _ = member()
    consent.change(withdrew, {"offers": False}, Provenance("preference_center"))
    failures_before = progress.failures_on(today)

    assert promotions.send_batch(pid, [sent_to], variant=1).delivered == 1
    moto_world.outbox.fail_for.update(email for _, email in refused)
    assert promotions.send_batch(pid, [m for m, _ in refused], variant=0).failed == 2
    assert promotions.send_batch(pid, [withdrew], variant=0).skipped == 1   # skipped alone

    stored = promotions.delivery_counts(promotions.get(pid))
    assert (stored.delivered, stored.skipped, stored.failed) == (1, 1, 2)
    assert stored.delivered_by_variant == (0, 1)          # B's one delivery, none of A's
    assert progress.failures_on(today) - failures_before == 2   # the console's Today page


def test_a_batch_of_a_paused_promotion_is_held_not_skipped_and_sent_once_resumed(moto_world):
    member_id, email = member()
    promotion = offer()
    pid = promotion.promotion_id
    Promotion.get(pid).update(actions=[Promotion.status.set("paused")])
    assert promotions.send_batch(pid, [member_id]) == (0, 0, 0)   # held: nothing skipped
    assert ledger(pid, member_id) is None and moto_world.outbox.to(email) == []
    stored = promotions.delivery_counts(promotions.get(pid))
    assert (stored.delivered, stored.skipped, stored.failed) == (0, 0, 0)

    Promotion.get(pid).update(actions=[Promotion.status.set("sending")])
    assert promotions.send_batch(pid, [member_id]) == (1, 0, 0)
    assert len(moto_world.outbox.to(email)) == 1


def test_a_first_try_its_worker_died_in_is_sent_again_by_the_reconciler(moto_world, monkeypatch):
    member_id, email = member()
    promotion = offer(subject="Died once")
    promotions.dispatch(promotion.promotion_id, send=lambda p, b: None)

    def dies(promotion, recipients, variant=None):
        raise UnavailableError("the worker died here")

    sends = sending._send_bulk
    monkeypatch.setattr(sending, "_send_bulk", dies)
    with pytest.raises(UnavailableError):
        promotions.send_batch(promotion.promotion_id, [member_id])   # the worker's first try
    monkeypatch.setattr(sending, "_send_bulk", sends)
    assert ledger(promotion.promotion_id, member_id).resent is None
    moto_world.clock.advance(sending.RECONCILE_AFTER.total_seconds() + 60)
    promotions.reconcile_claims()
    assert [m["subject"] for m in moto_world.outbox.to(email)] == ["Died once"]
    assert ledger(promotion.promotion_id, member_id).status == "sent"


def test_a_stale_claim_of_a_partner_since_disabled_is_given_up_not_resent(moto_world):
    """The reconciler's resend checks the partner again: a partner disabled since the claim
    sends nothing, and the claim is released (the member's allowance with it)."""
    member_id, email = member()
    promotion, partner_id = partner_promotion()
    pid = promotion.promotion_id
    promotions.dispatch(pid, send=lambda p, b, **_: None)
    now = moto_world.clock.now()
    Delivery(pid, member_id, status="claimed", attempt="dead", at=now,
             expires_at=now + timedelta(days=1)).save()
    partners.disable(partner_id)
    moto_world.clock.advance(sending.RECONCILE_AFTER.total_seconds() + 60)
    promotions.reconcile_claims()
    assert ledger(pid, member_id) is None
    assert moto_world.outbox.to(email) == []


def test_a_partner_promotion_naming_topics_reaches_only_members_who_take_one(moto_world):
    from chalicelib.members import topics
    from chalicelib.members.models import Member

    desks = topics.add_topic(f"Unit desks {uuid.uuid4().hex[:6]}").topic_id
    takes, takes_email = member()
    declines, declines_email = member()
    Member.get(declines).update(actions=[Member.topics_off.set({desks})])
    partner = partners.create("Desk & Co", "https://shop.example/",
                              privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, "Desks", "Body", partner_id=partner.partner_id,
                                  topics=[desks])
    promotions.approve(promotion.promotion_id)
    # The member who turned the topic off was never its audience: neither sent nor counted.
    assert promotions.send_batch(promotion.promotion_id, [takes, declines]) == (1, 0, 0)
    assert len(moto_world.outbox.to(takes_email)) == 1
    assert moto_world.outbox.to(declines_email) == []
    assert ledger(promotion.promotion_id, declines) is None


def test_claims_are_released_when_the_members_allowances_cannot_be_read(moto_world,
                                                                       monkeypatch):
    member_id, email = member()
    promotion, _ = partner_promotion()
    takes = sending.send_windows.take

    def unavailable(*args, **kwargs):
        raise UnavailableError("the send windows cannot be read")

    monkeypatch.setattr(sending.send_windows, "take", unavailable)
    with pytest.raises(UnavailableError, match="send windows"):
        promotions.send_batch(promotion.promotion_id, [member_id])
    assert ledger(promotion.promotion_id, member_id) is None     # the batch can be retried
    monkeypatch.setattr(sending.send_windows, "take", takes)
    assert promotions.send_batch(promotion.promotion_id, [member_id]).delivered == 1
    assert len(moto_world.outbox.to(email)) == 1


def test_a_member_past_the_allowance_is_skipped_and_not_left_claimed(moto_world):
    member_id, email = member()
    first, _ = partner_promotion()
    second, _ = partner_promotion()
    assert promotions.send_batch(first.promotion_id, [member_id]).delivered == 1
    assert promotions.send_batch(second.promotion_id, [member_id]) == (0, 1, 0)
    assert ledger(second.promotion_id, member_id) is None   # nothing for the reconciler to send
    assert [m["subject"] for m in moto_world.outbox.to(email)] == ["Desks"]


def test_failures_of_every_round_are_counted(moto_world):
    failing_id, failing = member()
    retried_id, retried = member()
    promotion = offer()
    ses = FlakySes([{retried}])          # round 1: one asked to retry, one refused for good
    ses.fail_for.add(failing)
    with mail.use_sender(ses):
        result = promotions.send_batch(promotion.promotion_id, [failing_id, retried_id])
    assert result == (1, 0, 1) and ses.calls == 2
    stored = promotions.delivery_counts(promotions.get(promotion.promotion_id))
    assert (stored.delivered, stored.failed) == (1, 1)


def test_a_stale_claim_of_a_member_who_withdrew_since_is_released_not_resent(moto_world):
    member_id, email = member()
    promotion = offer(subject="Withdrawn since")
    pid = promotion.promotion_id
    promotions.dispatch(pid, send=lambda p, b: None)
    now = moto_world.clock.now()
    Delivery(pid, member_id, status="claimed", attempt="dead", at=now,
             expires_at=now + timedelta(days=1)).save()
    consent.change(member_id, {"offers": False}, Provenance("preference_center"))
    moto_world.clock.advance(sending.RECONCILE_AFTER.total_seconds() + 60)
    promotions.reconcile_claims()
    assert ledger(pid, member_id) is None and moto_world.outbox.to(email) == []


@pytest.mark.parametrize("variants, variant", [(2, None), (2, 2), (2, -1), (1, 0)])
def test_a_batch_whose_variant_does_not_fit_the_promotion_is_refused_untouched(
        moto_world, variants, variant):
    member_id, email = member()
    promotion = promotions.create(OFFER, "Fit", "Body", variants=[
        {"subject": f"Fit {n}", "text": "Body"} for n in range(variants)] if variants > 1 else None)
    with pytest.raises(ValueError, match=r"^malformed send batch: the variant does not fit "
                                         r"the promotion$"):
        promotions.send_batch(promotion.promotion_id, [member_id], variant=variant)
    assert ledger(promotion.promotion_id, member_id) is None
    assert moto_world.outbox.to(email) == []


def test_deliveries_are_counted_by_number_in_the_statistics_and_the_metric(moto_world, capsys):
    from chalicelib.platform import observability

    today = moto_world.clock.now().date()
    recipients = [member()[0] for _ in range(3)]
    promotion = offer()
    observability.flush_metrics()
    capsys.readouterr()
    before = sum(counters.daily("promotion_deliveries", today, today, dimension=OFFER).values())
    assert promotions.send_batch(promotion.promotion_id, recipients).delivered == 3
    after = sum(counters.daily("promotion_deliveries", today, today, dimension=OFFER).values())
    assert after - before == 3                      # the report's "Offers delivered"
    observability.flush_metrics()
    [line] = [json.loads(out) for out in capsys.readouterr().out.splitlines()
              if "PromotionsSent" in out]
    assert line["PromotionsSent"] == [3.0]
    [names] = [[m["Name"] for m in d["Metrics"]] for d in line["_aws"]["CloudWatchMetrics"]]
    assert "PromotionsSent" in names
