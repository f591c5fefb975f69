"""Opt-outs reach partners: a member's withdrawal, GPC or erasure becomes one signed notice per
partner naming only that partner's click ids, delivered to a webhook on this machine (retried
until it answers 2xx, never twice), waiting for partners without one, and reported to the
operator when unacknowledged for 7 days."""
import json
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import partners
from chalicelib.members.models import UnlinkRequest
from chalicelib.partners import notices
from chalicelib.partners.models import NoticeClaim, PartnerNotice
from chalicelib.platform import clock
from chalicelib.reporting import report as operator_report
from devstack.servers import ROOT
from tests.integration.helpers import PASSWORD, login, post_json, verified_member
from tests.integration.partner_helpers import (
    WebhookReceiver,
    bearer,
    click,
    new_partner,
    order,
    report,
    signature_ok,
)

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def receiver():
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def fake_clock():
    with clock.use(clock.FakeClock(datetime.now(timezone.utc).replace(microsecond=0))) as fake:
        yield fake


def documented_check():
    """``genuine(secret, header, body)`` exactly as docs/partner-api.md shows partners."""
    text = (ROOT / "docs" / "partner-api.md").read_text().split("### Checking the signature")[1]
    namespace: dict = {}
    exec(re.search(r"```python\n(.*?)```", text, re.S).group(1), namespace)
    return namespace["genuine"]


def hooked_partner(client, receiver, name="Notice shop"):
    """A partner whose webhook is the receiver; returns (partner id, API key, secret, path)."""
    partner_id, key = new_partner(name)
    path = f"/hooks/{partner_id}"
    answer = post_json(client, "/partner/v1/webhook", {"url": receiver.url(path)}, bearer(key),
                       method="PUT")
    assert answer.status_code == 200, answer.body
    assert answer.json_body["webhook"]["url"] == receiver.url(path)
    return partner_id, key, answer.json_body["webhook"]["secret"], path


def member_id_of(client, session) -> str:
    return client.http.get("/api/v1/me", headers=session).json_body["member"]["id"]


def withdraw(client, session):
    answer = post_json(client, "/api/v1/me/consents", {"partner_promotions": False}, session,
                       method="PUT")
    assert answer.status_code == 200, answer.body


def notices_shown(client, email) -> list:
    """The notices the member's export lists (signed in afresh: the clock may have moved)."""
    return client.http.get("/api/v1/me/export", headers=login(client, email)).json_body[
        "partner_notices"]


def test_a_webhook_failing_twice_gets_exactly_one_signed_notice_per_click_and_event(
        client, mailbox, receiver, fake_clock):
    partner_id, key, secret, path = hooked_partner(client, receiver)
    receiver.scripts[path] = [500, 500]
    email, session = verified_member(client, mailbox)
    first, second = click(client, partner_id, session), click(client, partner_id, session)
    assert report(client, key, order(second)).status_code == 201
    withdraw(client, session)

    notices.run()                         # 500
    fake_clock.advance(61)
    notices.run()                         # 500 again, a minute later
    fake_clock.advance(30)
    notices.run()                         # not due yet: the next try waits two minutes
    assert len(receiver.at(path)) == 2
    fake_clock.advance(91)
    notices.run()                         # 2xx: acknowledged
    fake_clock.advance(6 * 3600)
    notices.run()                         # nothing more
    posts = receiver.at(path)
    assert len(posts) == 3
    bodies = [json.loads(p["body"]) for p in posts]
    assert {b["notice_id"] for b in bodies} == {bodies[0]["notice_id"]}
    for post, body in zip(posts, bodies):
        assert signature_ok(secret, post["headers"], post["body"])
        assert post["headers"]["Content-Type"] == "application/json"
        assert body == {"notice_id": bodies[0]["notice_id"], "event": "consent_withdrawn",
                        "click_ids": sorted([first, second]), "sent_at": body["sent_at"]}
        stamp = int(dict(p.split("=", 1) for p in post["headers"]["ESO-Signature"].split(","))["t"])
        assert stamp == int(datetime.fromisoformat(body["sent_at"].replace("Z", "+00:00")).timestamp())
    assert not signature_ok("whsec_not-the-secret", posts[0]["headers"], posts[0]["body"])

    [shown] = notices_shown(client, email)
    assert shown["partner"]["partner_id"] == partner_id and shown["event"] == "consent_withdrawn"
    assert shown["state"] == "acknowledged" and shown["acknowledged_at"]

    # Partner promotions allowed and stopped again: those clicks were told already; a new
    # click is told in a notice of its own.
    session = login(client, email)
    post_json(client, "/api/v1/me/consents", {"partner_promotions": True}, session, method="PUT")
    third = click(client, partner_id, session)
    withdraw(client, session)
    notices.run()
    fake_clock.advance(3600)
    notices.run()
    posts = receiver.at(path)
    assert len(posts) == 4
    assert json.loads(posts[-1]["body"])["click_ids"] == [third]
    assert [n["state"] for n in notices_shown(client, email)] == ["acknowledged"] * 2


def test_two_partners_each_get_only_their_own_click_ids(client, mailbox, receiver):
    shop, _, shop_secret, shop_path = hooked_partner(client, receiver, "Desk shop")
    bank, bank_key, bank_secret, bank_path = hooked_partner(client, receiver, "Office bank")
    email, session = verified_member(client, mailbox)
    desk = click(client, shop, session)
    loan = click(client, bank, session)
    assert report(client, bank_key, order(loan)).status_code == 201
    withdraw(client, session)
    notices.run()

    [to_shop], [to_bank] = receiver.at(shop_path), receiver.at(bank_path)
    assert json.loads(to_shop["body"])["click_ids"] == [desk]
    assert json.loads(to_bank["body"])["click_ids"] == [loan]
    assert signature_ok(shop_secret, to_shop["headers"], to_shop["body"])
    assert signature_ok(bank_secret, to_bank["headers"], to_bank["body"])
    assert not signature_ok(shop_secret, to_bank["headers"], to_bank["body"])
    genuine = documented_check()  # what the partner API documentation tells partners to run
    assert genuine(shop_secret, to_shop["headers"]["ESO-Signature"], to_shop["body"])
    assert not genuine(shop_secret, to_shop["headers"]["ESO-Signature"], to_shop["body"] + b" ")
    assert not genuine(bank_secret, to_shop["headers"]["ESO-Signature"], to_shop["body"])
    stale = re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) - 600}",
                   to_shop["headers"]["ESO-Signature"])
    assert not genuine(shop_secret, stale, to_shop["body"])
    assert sorted(n["partner"]["partner_id"] for n in notices_shown(client, email)) == sorted(
        [shop, bank])


def test_gpc_is_told_once_as_its_own_event(client, mailbox, receiver):
    partner_id, _, secret, path = hooked_partner(client, receiver)
    email, session = verified_member(client, mailbox)
    clicked = click(client, partner_id, session)
    for _ in range(2):  # the browser sends Sec-GPC on every request: applied once
        client.http.get("/api/v1/me", headers={**session, "Sec-GPC": "1"})
    notices.run()
    [post] = receiver.at(path)
    body = json.loads(post["body"])
    assert (body["event"], body["click_ids"]) == ("gpc", [clicked])
    assert signature_ok(secret, post["headers"], post["body"])


@pytest.mark.parametrize("after", ["withdrawn", "gpc", "never_granted"])
def test_a_click_after_the_no_is_linked_to_nobody(client, mailbox, receiver, after):
    """Partners are asked to unlink a member's clicks when the member says no: a click made
    after it (partner promotions withdrawn, GPC on the click, or never taken) is recorded as a
    visitor's, so there is nothing to tell and nothing in the member's records."""
    partner_id, key, _, path = hooked_partner(client, receiver)
    email, session = verified_member(client, mailbox,
                                     partner_promotions=after != "never_granted")
    if after == "withdrawn":
        withdraw(client, session)
    headers = {**session, "Sec-GPC": "1"} if after == "gpc" else session
    clicked = click(client, partner_id, headers)
    assert report(client, key, order(clicked)).status_code == 201  # the partner may still sell
    notices.run()
    exported = client.http.get("/api/v1/me/export", headers=login(client, email)).json_body
    assert exported["referral_clicks"] == [] and exported["partner_transactions"] == []
    told = [json.loads(p["body"]) for p in receiver.at(path)]
    assert not any(clicked in n["click_ids"] for n in told)
    # Saying yes again links the clicks made from then on.
    again = post_json(client, "/api/v1/me/consents", {"partner_promotions": True},
                      login(client, email), method="PUT")
    assert again.status_code == 200
    later = click(client, partner_id, login(client, email))
    exported = client.http.get("/api/v1/me/export", headers=login(client, email)).json_body
    assert [c["click_id"] for c in exported["referral_clicks"]] == [later]


def test_an_erased_members_notices_carry_nothing_but_the_partners_click_ids(
        client, mailbox, receiver):
    partner_id, key, secret, path = hooked_partner(client, receiver)
    email, session = verified_member(client, mailbox)
    member_id = member_id_of(client, session)
    clicked = click(client, partner_id, session)
    assert report(client, key, order(clicked)).status_code == 201
    assert post_json(client, "/api/v1/me", {"password": PASSWORD}, session,
                     method="DELETE").status_code == 204
    notices.run()

    [post] = receiver.at(path)
    body = json.loads(post["body"])
    assert set(body) == {"notice_id", "event", "click_ids", "sent_at"}
    assert (body["event"], body["click_ids"]) == ("erased", [clicked])
    assert signature_ok(secret, post["headers"], post["body"])
    sent = post["body"].decode() + json.dumps(post["headers"])
    for identifier in (member_id, email, email.split("@")[0], "Pat Example"):
        assert identifier not in sent
    # What eSO keeps about the notice names no one either.
    stored = PartnerNotice.get(body["notice_id"]).attribute_values
    assert member_id not in json.dumps(stored, default=str) and email not in json.dumps(
        stored, default=str)
    claim = NoticeClaim.get(f"{partner_id} {clicked} erased")
    assert member_id not in json.dumps(claim.attribute_values, default=str)


def test_a_partner_without_a_webhook_gets_nothing_until_it_sets_one(client, mailbox, receiver):
    partner_id, key = new_partner("No hook shop")
    email, session = verified_member(client, mailbox)
    clicked = click(client, partner_id, session)
    withdraw(client, session)
    notices.run()
    [waiting] = notices_shown(client, email)
    assert waiting["state"] == "no_webhook" and waiting["acknowledged_at"] is None
    assert receiver.received == []

    path = f"/late/{partner_id}"
    secret = post_json(client, "/partner/v1/webhook", {"url": receiver.url(path)}, bearer(key),
                       method="PUT").json_body["webhook"]["secret"]
    notices.run()  # due at once, not in six hours
    [post] = receiver.at(path)
    assert json.loads(post["body"])["click_ids"] == [clicked]
    assert signature_ok(secret, post["headers"], post["body"])
    assert notices_shown(client, email)[0]["state"] == "acknowledged"


def test_a_redirect_is_not_followed_nor_taken_as_an_answer(client, mailbox, receiver):
    partner_id, _, _, path = hooked_partner(client, receiver)
    receiver.scripts[path] = [302]  # Location: none needed, eSO never follows one
    email, session = verified_member(client, mailbox)
    click(client, partner_id, session)
    withdraw(client, session)
    notices.run()
    assert len(receiver.received) == 1
    [notice] = notices_shown(client, email)
    assert notice["state"] == "sending" and notice["acknowledged_at"] is None


def test_a_member_sees_only_the_notices_about_themselves(client, mailbox, receiver):
    partner_id, _, _, _ = hooked_partner(client, receiver)
    told, session = verified_member(client, mailbox)
    click(client, partner_id, session)
    withdraw(client, session)
    other, other_session = verified_member(client, mailbox)
    click(client, partner_id, other_session)  # the same partner, not withdrawn
    notices.run()
    assert [n["partner"]["partner_id"] for n in notices_shown(client, told)] == [partner_id]
    assert notices_shown(client, other) == []
    page = client.http.get("/account", headers=login(client, other)).body.decode()
    assert 'id="no-partner-notices"' in page and 'id="partner-notices"' not in page


def test_concurrent_sweepers_post_each_notice_once(client, mailbox):
    slow = WebhookReceiver(delay=0.4)
    try:
        paths = []
        for n in range(3):
            partner_id, _, _, path = hooked_partner(client, slow, f"Busy shop {n}")
            paths.append(path)
            email, session = verified_member(client, mailbox)
            click(client, partner_id, session)
            click(client, partner_id, session)
            withdraw(client, session)
        notices.take_requests()
        sweepers = [threading.Thread(target=notices.deliver_due) for _ in range(3)]
        for sweeper in sweepers:
            sweeper.start()
        for sweeper in sweepers:
            sweeper.join()
        notices.deliver_due()
        for path in paths:
            assert len(slow.at(path)) == 1, path
    finally:
        slow.close()


def test_the_request_is_written_with_the_withdrawal_and_survives_a_crash(
        client, mailbox, receiver, monkeypatch):
    partner_id, _, _, path = hooked_partner(client, receiver)
    email, session = verified_member(client, mailbox)
    member_id = member_id_of(client, session)
    click(client, partner_id, session)
    withdraw(client, session)
    assert UnlinkRequest.get("pending", member_id).kinds == {"consent_withdrawn"}

    def crash(*args):
        raise RuntimeError("the sweeper died here")

    monkeypatch.setattr(notices.unlink_requests, "settle", crash)
    with pytest.raises(RuntimeError):
        notices.take_requests()  # the notice was written, the request not settled
    monkeypatch.undo()
    notices.run()
    notices.run()
    assert len(receiver.at(path)) == 1
    assert len(notices_shown(client, email)) == 1
    with pytest.raises(UnlinkRequest.DoesNotExist):
        UnlinkRequest.get("pending", member_id)


def test_unacknowledged_notices_reach_the_operator_report_after_7_days(
        client, mailbox, receiver, fake_clock):
    partner_id, _, _, path = hooked_partner(client, receiver, "Silent shop")
    receiver.scripts[path] = [503] * 50
    email, session = verified_member(client, mailbox)
    for _ in range(3):
        click(client, partner_id, session)
    withdraw(client, session)
    start = clock.now()
    notices.run()
    assert receiver.at(path)

    def listed(now):
        return [r for r in notices.overdue(now) if r["partner_id"] == partner_id]

    assert listed(start + timedelta(days=6, hours=23)) == []
    [row] = listed(start + timedelta(days=7))
    assert row == {"partner_id": partner_id, "name": partners.get(partner_id).name, "count": 1,
                   "oldest_at": clock.iso(start)}
    fake_clock.advance(8 * 86400)
    data = operator_report.operator_report(clock.today(), clock.today())
    assert row in data["unacknowledged_notices"]
    text = operator_report.render_text(data)
    assert f"{partner_id}  " in text and "not acknowledged for 7 days" in text


@pytest.mark.parametrize("url, why", [
    ("http://shop.example/hook", "https"),
    ("https://user:secret@shop.example/hook", "user name"),
    ("https://10.1.2.3/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "private"),
    ("https://[::1]/hook", "private"),
    ("https://localhost/hook", "public host"),
    ("https://intranet/hook", "public host"),
    ("https://2130706433/hook", "public host"),
    ("ftp://shop.example/hook", "https"),
])
def test_a_webhook_url_that_could_reach_inside_is_refused_and_nothing_changes(
        client, url, why):
    partner_id, key = new_partner("Careful shop")
    answer = post_json(client, "/partner/v1/webhook", {"url": url}, bearer(key), method="PUT")
    assert answer.status_code == 400
    error = answer.json_body["error"]
    assert (error["code"], error["field"]) == ("invalid_webhook_url", "url")
    assert why in error["message"]
    assert client.http.get("/partner/v1/webhook", headers=bearer(key)).status_code == 404
    assert partners.get(partner_id).webhook_url is None


def test_the_webhook_can_be_read_rotated_and_removed_by_its_partner_only(client, receiver):
    partner_id, key = new_partner("Rotating shop")
    other_id, other_key = new_partner("Other shop")
    url = receiver.url("/rotating")
    assert post_json(client, "/partner/v1/webhook", {"url": url}, {}, method="PUT").status_code == 401
    first = post_json(client, "/partner/v1/webhook", {"url": url}, bearer(key), method="PUT")
    second = post_json(client, "/partner/v1/webhook", {"url": url}, bearer(key), method="PUT")
    secrets = [first.json_body["webhook"]["secret"], second.json_body["webhook"]["secret"]]
    assert secrets[0] != secrets[1] and all(s.startswith("whsec_") for s in secrets)
    read = client.http.get("/partner/v1/webhook", headers=bearer(key))
    assert read.status_code == 200 and read.json_body["webhook"]["url"] == url
    assert "secret" not in read.json_body["webhook"]
    assert secrets[1] not in partners.get(partner_id).webhook_secret  # kept sealed only
    assert client.http.get("/partner/v1/webhook", headers=bearer(other_key)).status_code == 404
    unknown = post_json(client, "/partner/v1/webhook", {"url": url, "events": ["all"]},
                        bearer(key), method="PUT")
    assert unknown.status_code == 400
    assert client.http.delete("/partner/v1/webhook", headers=bearer(key)).status_code == 204
    assert client.http.get("/partner/v1/webhook", headers=bearer(key)).status_code == 404
