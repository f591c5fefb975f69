"""Promotions from the console, through the in-process app, DynamoDB Local and the local SES
server: a test send of the exact message to the operator only, approving now (with the quota
forecast first and the second factor within 10 minutes), scheduling for a later time that the
sweeper keeps, the progress of a send, and the Today page's sending figures. The clock is a
fake one, so the 10 minutes and the scheduled time are exact."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from chalicelib import promotions
from chalicelib.operators import audit
from chalicelib.platform import clock
from chalicelib.platform.vocabulary import PARTNER
from chalicelib.promotions.models import Delivery
from chalicelib.statistics import counters
from devstack.faultproxy import FaultProxy
from tests.integration.operator_helpers import code_now, set_up_with_totp
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import (
    FakeSendQueue,
    make_member,
    received,
    recipients,
    unique_subject,
)

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def fake_clock():
    with clock.use(clock.FakeClock(datetime.now(timezone.utc).replace(microsecond=0))) as fake:
        yield fake


def pending(subject_label: str = "Console deal") -> tuple:
    """A partner's promotion waiting for review; (promotion, partner key)."""
    partner_id, key = new_partner("Console shop")
    promotion = promotions.create(PARTNER, unique_subject(subject_label),
                                  "Half price on toner, this week only.",
                                  '<p>Half price, <a href="https://shop.example/">here</a>.</p>',
                                  partner_id=partner_id)
    return promotion, key


def actions(operator_id: str, target: str) -> list:
    day = clock.now().date()
    return [e for e in audit.entries_of_day(day)
            if e["actor"] == operator_id and e["target"] == target]


def ledger(promotion_id: str) -> list:
    return list(Delivery.query(promotion_id, consistent_read=True))


def approve_form(browser, promotion_id: str, **fields):
    """The approve page (forecast) then its confirmation, as the operator's browser does."""
    query = urlencode({"when": "now", **fields})
    page = browser.get(f"/admin/promotions/{promotion_id}/approve?{query}")
    assert page.status_code == 200, page.body
    return page, browser.form(f"/admin/promotions/{promotion_id}/approve",
                              {"when": "now", **fields})


def test_a_test_send_reaches_the_operator_only_and_changes_no_count(client, mailbox, fake_clock):
    operator = set_up_with_totp(client)
    member, _ = make_member(mailbox, partner_promotions=True, tag="test-send")
    promotion, _ = pending("Test send")
    day = clock.today()
    delivered_before = counters.daily("promotion_deliveries", day, day, dimension=PARTNER)

    sent = operator["browser"].form(f"/admin/promotions/{promotion.promotion_id}/test-send", {})
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/admin/promotions/{promotion.promotion_id}?done=test-sent"
    [mail] = mailbox.wait_for(operator["email"])
    got = [m for m in mailbox.to(operator["email"]) if m["subject"] == promotion.subject]
    assert len(got) == 1 and mail["subject"] == promotion.subject  # the members' own subject
    # Exactly the members' message: the text, the footer, the one-click unsubscribe headers.
    preview = promotions.preview(promotion.promotion_id, unsubscribe_placeholder="TOKEN")
    assert mail["body"]["text"].split("/unsubscribe?token=")[0] == \
        preview["text"].split("/unsubscribe?token=")[0]
    # Every variable of the template is filled (SES drops a message that leaves one out): the
    # pause links carry a token that names no member.
    assert "snooze_token" not in mail["body"]["text"]
    assert "/snooze?token=test-send-names-no-member&period=two_weeks" in mail["body"]["text"]
    headers = {h["name"]: h["value"] for h in mail["headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe?token=" in headers["List-Unsubscribe"]
    assert recipients(mailbox, promotion) == [operator["email"]]  # nobody else, not the member
    assert not received(mailbox, promotion, member)

    assert ledger(promotion.promotion_id) == []
    assert promotions.delivery_counts(promotions.get(promotion.promotion_id)) == (0, 0, 0)
    assert promotions.get(promotion.promotion_id).status == "pending_review"
    assert counters.daily("promotion_deliveries", day, day, dimension=PARTNER) == delivered_before
    [entry] = actions(operator["operator_id"], promotion.promotion_id)
    assert (entry["action"], entry["detail"]) == ("promotion_test_sent",
                                                  {"email": operator["email"]})
    page = operator["browser"].get(sent.headers["Location"]).body.decode()
    assert "The test message is on its way" in page


def test_test_sends_are_limited_per_operator(client, mailbox, fake_clock, monkeypatch):
    from chalicelib.promotions import sending

    monkeypatch.setattr(sending, "TEST_SENDS_PER_HOUR", 2)
    operator = set_up_with_totp(client)
    promotion, _ = pending("Limited test")
    path = f"/admin/promotions/{promotion.promotion_id}/test-send"
    assert [operator["browser"].form(path, {}).status_code for _ in range(2)] == [303, 303]
    refused = operator["browser"].form(path, {})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "At most 2 test sends an hour" in refused.body.decode()
    assert len(received(mailbox, promotion)) == 2


def test_approving_shows_the_forecast_then_sends_to_opted_in_members_only(client, mailbox,
                                                                          fake_clock):
    operator = set_up_with_totp(client)
    yes, _ = make_member(mailbox, partner_promotions=True, tag="approve-yes")
    no, _ = make_member(mailbox, partner_promotions=False, tag="approve-no")
    promotion, key = pending("Approved")
    page = operator["browser"].get(f"/admin/promotions/{promotion.promotion_id}/approve?when=now")
    body = page.body.decode()
    audience = int(re.search(r'id="forecast-audience">([\d,]+)<', body).group(1).replace(",", ""))
    assert audience >= 1 and 'id="forecast-fits"' in body
    assert "Approve and send now" in body
    assert promotions.get(promotion.promotion_id).status == "pending_review"  # the page changed nothing
    assert not received(mailbox, promotion)

    done = operator["browser"].form(f"/admin/promotions/{promotion.promotion_id}/approve",
                                    {"when": "now"})
    assert done.status_code == 303
    assert done.headers["Location"] == f"/admin/promotions/{promotion.promotion_id}?done=sent"
    assert received(mailbox, promotion, yes) and not received(mailbox, promotion, no)
    assert not received(mailbox, promotion, operator["email"])
    sent = promotions.get(promotion.promotion_id)
    assert sent.status == "sent"
    seen = client.http.get(f"/partner/v1/promotions/{promotion.promotion_id}",
                           headers=bearer(key)).json_body["promotion"]
    assert seen["status"] == "sent"
    assert [e["action"] for e in actions(operator["operator_id"], promotion.promotion_id)] == \
        ["promotion_approved"]

    shown = operator["browser"].get(done.headers["Location"]).body.decode()
    delivered = promotions.delivery_counts(sent).delivered
    assert re.search(r'id="progress-delivered">([\d,]+)<', shown).group(1) == f"{delivered:,}"
    planned = int(re.search(r'id="progress-planned">([\d,]+)<', shown).group(1).replace(",", ""))
    assert planned >= delivered >= 1
    assert "sent: finished" in shown
    again = operator["browser"].form(f"/admin/promotions/{promotion.promotion_id}/approve",
                                     {"when": "now"})
    assert again.status_code == 409  # sent once; never again from here
    assert len(received(mailbox, promotion, yes)) == 1


def test_approving_needs_the_second_factor_within_10_minutes(client, mailbox, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    promotion, _ = pending("Re-confirm")
    fake_clock.advance(10 * 60 + 1)
    for answer in (browser.get(f"/admin/promotions/{promotion.promotion_id}/approve?when=now"),
                   browser.form(f"/admin/promotions/{promotion.promotion_id}/approve",
                                {"when": "now"})):
        assert answer.status_code == 303
        assert answer.headers["Location"] == f"/admin/confirm?next=promotion:{promotion.promotion_id}"
    assert promotions.get(promotion.promotion_id).status == "pending_review"
    assert browser.get(f"/admin/confirm?next=promotion:{promotion.promotion_id}").status_code == 200
    confirmed = browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]),
                                                     "next": f"promotion:{promotion.promotion_id}"})
    assert confirmed.headers["Location"] == f"/admin/promotions/{promotion.promotion_id}"
    # A made-up "next" never leads anywhere but the fixed pages.
    for code, made_up in zip(operator["recovery_codes"],
                             ("promotion-../../evil", "promotion-https://evil.example",
                              "promotion-" + "A" * 32, "partner-" + "a" * 32)):
        answer = browser.form("/admin/confirm/totp", {"code": code, "next": made_up})
        assert answer.status_code == 303 and answer.headers["Location"] == "/admin", made_up
    _, done = approve_form(browser, promotion.promotion_id)
    assert done.status_code == 303 and promotions.get(promotion.promotion_id).status == "sent"


def test_the_approve_page_warns_when_the_quota_is_too_small(client, mailbox, stack, monkeypatch,
                                                          fake_clock):
    operator = set_up_with_totp(client)
    make_member(mailbox, partner_promotions=True, tag="quota-warning")
    promotion, _ = pending("Too big")
    with FaultProxy(stack["ses"].url) as proxy:
        monkeypatch.setenv("ESO_SES_PORT", str(proxy.port))
        proxy.daily_quota(0)
        page = operator["browser"].get(f"/admin/promotions/{promotion.promotion_id}/approve?when=now")
        expected = promotions.forecast(promotion.promotion_id).warning()  # the CLI's words
    body = page.body.decode()
    assert page.status_code == 200
    warning = re.search(r'id="forecast-warning"><p><strong>Warning:</strong> ([^<]+)<', body).group(1)
    assert "SES lets the account send only 0 more messages" in warning
    assert warning.replace("&#39;", "'") == expected
    assert promotions.get(promotion.promotion_id).status == "pending_review"


def test_a_scheduled_promotion_waits_for_its_time_then_the_sweeper_starts_it(client, mailbox,
                                                                             fake_clock):
    operator = set_up_with_totp(client)
    yes, _ = make_member(mailbox, partner_promotions=True, tag="scheduled")
    promotion, key = pending("Scheduled")
    start = (clock.now() + timedelta(hours=2)).replace(second=0)
    at = start.strftime("%Y-%m-%dT%H:%M")
    page, done = approve_form(operator["browser"], promotion.promotion_id, when="later", send_at=at)
    assert f'id="approve-send-at">{start:%Y-%m-%d %H:%M} UTC' in page.body.decode()
    assert done.status_code == 303 and done.headers["Location"].endswith("?done=scheduled")
    scheduled = promotions.get(promotion.promotion_id)
    assert (scheduled.status, scheduled.send_at) == ("scheduled", start)
    assert client.http.get(f"/partner/v1/promotions/{promotion.promotion_id}",
                           headers=bearer(key)).json_body["promotion"]["status"] == "scheduled"
    [entry] = actions(operator["operator_id"], promotion.promotion_id)
    assert (entry["action"], entry["detail"]["send_at"]) == ("promotion_scheduled",
                                                             clock.iso(start))
    shown = operator["browser"].get(f"/admin/promotions/{promotion.promotion_id}").body.decode()
    assert f"scheduled: starts at {start:%Y-%m-%d %H:%M} UTC" in shown

    def until_start() -> float:
        return (start - clock.now()).total_seconds()

    fake_clock.advance(until_start() - 3600)        # an hour early: nothing happens
    assert promotion.promotion_id not in promotions.start_due()
    assert promotions.get(promotion.promotion_id).status == "scheduled"
    assert not received(mailbox, promotion)
    fake_clock.advance(until_start() - 30)          # 30 seconds early: still nothing
    assert promotion.promotion_id not in promotions.start_due()
    fake_clock.advance(60)                          # due
    assert promotion.promotion_id in promotions.start_due()
    assert promotions.get(promotion.promotion_id).status == "sent"
    assert len(received(mailbox, promotion, yes)) == 1
    assert promotion.promotion_id not in promotions.start_due()  # once only


def test_a_schedule_must_be_ahead_and_can_be_moved_or_rejected(client, mailbox, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    promotion, key = pending("Moved")
    path = f"/admin/promotions/{promotion.promotion_id}/approve"
    now = clock.now()
    for value, fragment in (("2020-01-01T09:00", "at least 10 minutes"),
                            ((now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"), "at least 10 minutes"),
                            ((now + timedelta(days=91)).strftime("%Y-%m-%dT%H:%M"), "90 days"),
                            ("tomorrow at nine", "YYYY-MM-DD HH:MM"),
                            ("2026-02-30T09:00", "does not exist")):
        for answer in (browser.get(f"{path}?{urlencode({'when': 'later', 'send_at': value})}"),
                       browser.form(path, {"when": "later", "send_at": value})):
            assert answer.status_code == 400, (value, answer.status_code)
            body = answer.body.decode()
            assert fragment in body and 'id="send_at"' in body and 'aria-invalid="true"' in body
    assert browser.form(path, {"when": "whenever"}).status_code == 400
    assert promotions.get(promotion.promotion_id).status == "pending_review"

    first = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    later = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert browser.form(path, {"when": "later", "send_at": first}).status_code == 303
    assert browser.form(path, {"when": "later", "send_at": later}).status_code == 303
    assert promotions.get(promotion.promotion_id).send_at.strftime("%Y-%m-%dT%H:%M") == later
    rejected = browser.form(f"/admin/promotions/{promotion.promotion_id}/reject",
                            {"reason": "Changed our mind about the date."})
    assert rejected.status_code == 303
    assert promotions.get(promotion.promotion_id).status == "rejected"
    assert sorted(e["action"] for e in actions(operator["operator_id"], promotion.promotion_id)) \
        == ["promotion_rejected", "promotion_scheduled", "promotion_scheduled"]
    fake_clock.advance(3 * 24 * 3600)
    assert promotion.promotion_id not in promotions.start_due()
    assert not received(mailbox, promotion)


def test_on_a_stage_with_a_queue_the_worker_plans_what_the_console_approved(
        client, mailbox, fake_clock, monkeypatch):
    operator = set_up_with_totp(client)
    yes, _ = make_member(mailbox, partner_promotions=True, tag="queued")
    promotion, _ = pending("Queued")
    with FakeSendQueue(monkeypatch) as queue:
        _, done = approve_form(operator["browser"], promotion.promotion_id)
        assert done.headers["Location"].endswith("?done=queued")
        [start] = queue.take()
        assert json.loads(start) == {"promotion_id": promotion.promotion_id, "start": True}
        assert not received(mailbox, promotion)  # the request only asked the worker

        today = operator["browser"].get("/admin").body.decode()  # the queue's depth is read
        assert 'id="send-queues"' in today

        for body in [start, start]:  # SQS may deliver a message twice
            client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                message_bodies=[body], queue_name="eso-sends"))
        batches = queue.take()
        assert batches and all(json.loads(b)["promotion_id"] == promotion.promotion_id
                               for b in batches)
        for body in batches:
            client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                message_bodies=[body], queue_name="eso-sends"))
    assert len(received(mailbox, promotion, yes)) == 1
    assert promotions.get(promotion.promotion_id).status == "sent"


def test_the_sweeper_hands_due_and_lost_starts_to_the_worker(client, mailbox, fake_clock,
                                                             monkeypatch):
    """With a queue, the sweeper does not plan in its own run: an approval whose start was
    lost (approved, never planned) is started again after 15 minutes, and only then; a due
    schedule becomes one start message for the worker. (A week apart: a member gets at most
    one partner promotion a week by default.)"""
    yes, _ = make_member(mailbox, partner_promotions=True, tag="sweeper")
    scheduled, _ = pending("Sweeper scheduled")
    lost, _ = pending("Sweeper lost start")
    promotions.schedule(scheduled.promotion_id, clock.now() + timedelta(days=8))
    promotions.approve(lost.promotion_id)               # and the process died before its start

    def worker_starts(queue, promotion) -> bool:
        """Whether the sweeper asked the worker to start ``promotion``; if so, the worker
        plans it and sends its batches."""
        mine = [b for b in queue.take() if json.loads(b)["promotion_id"] == promotion.promotion_id]
        assert mine in ([], [json.dumps({"promotion_id": promotion.promotion_id, "start": True})])
        for body in mine:
            client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                message_bodies=[body], queue_name="eso-sends"))
            for batch in queue.take():
                assert json.loads(batch)["promotion_id"] == promotion.promotion_id
                client.lambda_.invoke("send_worker", client.events.generate_sqs_event(
                    message_bodies=[batch], queue_name="eso-sends"))
        return bool(mine)

    with FakeSendQueue(monkeypatch) as queue:
        fake_clock.advance(10 * 60)
        assert lost.promotion_id not in promotions.restart_lost()
        assert not worker_starts(queue, lost)
        fake_clock.advance(6 * 60)
        assert lost.promotion_id in promotions.restart_lost()
        assert not received(mailbox, lost)              # the worker sends, not the sweeper
        assert worker_starts(queue, lost)
        assert len(received(mailbox, lost, yes)) == 1

        fake_clock.advance(8 * 24 * 3600)
        assert scheduled.promotion_id in promotions.start_due()
        assert promotions.get(scheduled.promotion_id).status == "approved"
        assert not received(mailbox, scheduled)
        assert worker_starts(queue, scheduled)
        assert len(received(mailbox, scheduled, yes)) == 1
        fake_clock.advance(3600)
        started_again = promotions.start_due() + promotions.restart_lost()
        assert lost.promotion_id not in started_again
        assert scheduled.promotion_id not in started_again
    assert {promotions.get(p.promotion_id).status for p in (lost, scheduled)} == {"sent"}


def test_today_shows_sends_in_progress_paused_scheduled_and_failures(client, mailbox, fake_clock,
                                                                    monkeypatch):
    from chalicelib.promotions.models import Promotion

    operator = set_up_with_totp(client)
    browser = operator["browser"]
    paused, _ = pending("Paused")
    scheduled, _ = pending("Scheduled later")
    promotions.approve(paused.promotion_id)
    promotions.dispatch(paused.promotion_id, send=lambda *_: None)
    resume = clock.now() + timedelta(hours=3)
    Promotion.get(paused.promotion_id).update(actions=[
        Promotion.status.set("paused"), Promotion.paused_reason.set("daily_quota"),
        Promotion.resume_at.set(resume)])
    promotions.schedule(scheduled.promotion_id, clock.now() + timedelta(days=1))

    def figure(body, key):
        return int(re.search(rf'id="{key}">([\d,]+) ', body).group(1).replace(",", ""))

    body = browser.get("/admin").body.decode()
    rows = dict(re.findall(r'<tr data-id="(\w+)"><th scope="row"><a [^>]+>[^<]+</a></th><td>([^<]+)</td>', body))
    assert rows[paused.promotion_id] == f"paused: daily quota, resumes at {resume:%Y-%m-%d %H:%M} UTC"
    assert rows[scheduled.promotion_id].startswith("scheduled: starts at ")
    assert figure(body, "sending-paused") >= 1 and figure(body, "sending-scheduled") >= 1
    assert "the local stack sends promotions in-process" in body  # no queue here

    failed_before = figure(body, "failed-today")
    counters.increment("promotion_failures", dimension=PARTNER, amount=2)
    assert figure(browser.get("/admin").body.decode(), "failed-today") == failed_before + 2
    with FakeSendQueue(monkeypatch, dead=3):
        body = browser.get("/admin").body.decode()
    assert re.search(r"eso-sends-dlq \(dead letters[^<]*</th><td>3</td>", body), body
