"""Contact-form messages in the console, through the in-process app and DynamoDB Local: kept as
well as mailed (the form answers as before), listed newest first a page at a time, shown as
text, marked read or answered (recorded in the audit log), counted on Today while unread, gone
after the retention period, and erased with the account of their address. The clock is a fake
one, a year ahead, so this test's messages are the newest and the retention is exact."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import members, privacy
from chalicelib.operators import audit
from chalicelib.platform import clock
from tests.integration.helpers import PASSWORD, login, new_email, post_json
from tests.integration.operator_helpers import set_up_with_totp
from tests.integration.promotion_helpers import make_member

pytestmark = pytest.mark.usefixtures("stack")


_latest = [datetime.now(timezone.utc)]  # the furthest any test's clock went


@pytest.fixture
def fake_clock():
    """A year ahead, and an hour past wherever an earlier test of this file moved its clock
    (one writes messages minutes later, one moves half a year on): each test's messages are
    the newest."""
    ahead = max(datetime.now(timezone.utc) + timedelta(days=365),
                _latest[0] + timedelta(hours=1)).replace(microsecond=0)
    with clock.use(clock.FakeClock(ahead)) as fake:
        try:
            yield fake
        finally:
            _latest[0] = max(_latest[0], fake.now())


def write(client, email: str, message: str, topic: str = "privacy"):
    return post_json(client, "/api/v1/contact", {"email": email, "topic": topic,
                                                 "message": message})


def message_id_of(email: str) -> str:
    [message] = members.messages.of_address(email)
    return message["id"]


def unread(browser) -> int:
    body = browser.get("/admin").body.decode()
    return int(re.search(r'id="unread-messages"><a href="/admin/messages">(\d+) unread', body).group(1))


def test_a_message_is_kept_shown_as_text_and_marked_read_then_answered(client, mailbox, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    before = unread(browser)
    sender = new_email("writer")
    text = "Do you keep my <script>alert('x')</script> data?\nSecond line & more."
    answer = write(client, sender, text)
    assert (answer.status_code, answer.json_body) == (202, {"status": "sent"})  # as before
    mail = mailbox.wait_for("privacy@esmalloffice.example")  # still mailed to the operator
    assert any(sender in str(m["replyTo"]) and "Second line" in m["body"]["text"] for m in mail)
    assert unread(browser) == before + 1

    listed = browser.get("/admin/messages").body.decode()
    message_id = message_id_of(sender)
    first_row = re.search(r'<tr data-id="(\w+)" class="(\w+)">', listed)
    assert first_row.groups() == (message_id, "unread")  # newest first
    assert "<script>" not in listed and "&lt;script&gt;" in listed

    page = browser.get(f"/admin/messages/{message_id}")
    body = page.body.decode()
    assert page.status_code == 200 and "<script>alert" not in body
    shown = re.search(r'id="message-text" tabindex="0">(.*?)</pre>', body, re.S).group(1)
    assert shown == ("Do you keep my &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; data?\n"
                     "Second line &amp; more.")
    assert re.search(r'id="message-from">([^<]+)<', body).group(1) == sender
    assert "unread" in re.search(r'id="message-status">([^<]+)<', body).group(1)

    for status in ("read", "answered"):
        done = browser.form(f"/admin/messages/{message_id}/status", {"status": status})
        assert done.status_code == 303
        assert done.headers["Location"] == f"/admin/messages/{message_id}?done={status}"
        assert members.messages.get(message_id).status == status
    assert unread(browser) == before
    assert members.messages.get(message_id).status_by == operator["operator_id"]
    assert browser.form(f"/admin/messages/{message_id}/status", {"status": "deleted"}).status_code == 400
    assert members.messages.get(message_id).status == "answered"
    assert browser.form(f"/admin/messages/{uuid.uuid4().hex}/status", {"status": "read"}).status_code == 404
    assert browser.get("/admin/messages/not-an-id").status_code == 404

    entries = [e for e in audit.entries_of_day(clock.today()) if e["target"] == message_id]
    assert sorted((e["action"], e["detail"]["status"]) for e in entries) == [
        ("message_marked", "answered"), ("message_marked", "read")]
    assert all(e["actor"] == operator["operator_id"] for e in entries)
    assert not any("keep my" in str(e) for e in entries)  # no message body in the log


def test_the_list_pages_through_older_messages(client, fake_clock, monkeypatch):
    monkeypatch.setattr(members.messages, "PAGE_SIZE", 2)
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    senders = []
    for n in range(3):
        fake_clock.advance(60)
        senders.append(new_email(f"paged-{n}"))
        assert write(client, senders[-1], f"Message number {n}").status_code == 202
    ids = [message_id_of(s) for s in reversed(senders)]  # newest first

    first = browser.get("/admin/messages").body.decode()
    assert re.findall(r'<tr data-id="(\w+)"', first) == ids[:2]
    following = re.search(r'href="/admin/messages\?cursor=([\w-]+)" id="older-messages"', first).group(1)
    second = browser.get(f"/admin/messages?cursor={following}").body.decode()
    assert re.findall(r'<tr data-id="(\w+)"', second)[0] == ids[2]
    for forged in ("not-a-cursor", "eyJpZCI6IDF9", "e30"):
        assert browser.get(f"/admin/messages?cursor={forged}").status_code == 400


def test_messages_are_kept_180_days(client, fake_clock):
    sender = new_email("kept")
    assert write(client, sender, "How long do you keep this?").status_code == 202
    message_id = message_id_of(sender)
    fake_clock.advance(179 * 24 * 3600)
    assert members.messages.get(message_id).text == "How long do you keep this?"
    fake_clock.advance(2 * 24 * 3600)
    browser = set_up_with_totp(client)["browser"]
    assert browser.get(f"/admin/messages/{message_id}").status_code == 404
    assert message_id not in browser.get("/admin/messages").body.decode()
    assert members.messages.of_address(sender) == []


def test_an_erased_members_messages_go_and_others_stay(client, mailbox, fake_clock):
    operator = set_up_with_totp(client)
    email, member_id = make_member(mailbox, tag="erased-writer")
    other = new_email("stays")
    assert write(client, email, "Please delete my account.").status_code == 202
    assert write(client, email, "And my messages.", topic="general").status_code == 202
    assert write(client, other, "Someone else's question.").status_code == 202
    mine = [m["id"] for m in members.messages.of_address(email)]
    assert len(mine) == 2
    exported = privacy.export_member(member_id)["contact_messages"]
    assert sorted(m["message"] for m in exported) == ["And my messages.", "Please delete my account."]

    session = login(client, email)
    assert post_json(client, "/api/v1/me", {"password": PASSWORD}, headers=session,
                     method="DELETE").status_code == 204
    for message_id in mine:
        assert operator["browser"].get(f"/admin/messages/{message_id}").status_code == 404
    assert members.messages.of_address(email) == []
    assert members.messages.erase_from(email) == 0  # nothing left, not even expired
    [kept] = members.messages.of_address(other)
    assert operator["browser"].get(f"/admin/messages/{kept['id']}").status_code == 200


def test_the_contact_form_keeps_its_answers_and_its_limit(client, fake_clock):
    sender = new_email("limited")
    answers = [write(client, sender, f"Question {n}") for n in range(6)]
    assert [a.status_code for a in answers] == [202] * 5 + [429]
    assert answers[-1].json_body["error"]["code"] == "too_many_attempts"
    assert len(members.messages.of_address(sender)) == 5  # a refused message is not kept
    bad = write(client, new_email("blank"), "   ")  # refused before the limit is counted
    assert (bad.status_code, bad.json_body["error"]["field"]) == (400, "message")
