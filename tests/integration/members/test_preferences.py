"""A member's promotion preferences: topics at registration (Global Privacy Control included)
and in the preference centre, how often, a pause; each change in the consent history."""
import re
import uuid
from urllib.parse import urlencode

import pytest

from chalicelib import members
from chalicelib.members import consent
from chalicelib.members.models import EmailClaim, Member
from chalicelib.web.cookies import VISITOR_COOKIE
from tests.integration.helpers import (
    PASSWORD,
    cookie_value,
    login,
    new_email,
    post_json,
    token_from,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture(scope="module")
def catalogue(stack):
    """Two topics of this module's own (other tests may add more: the rules hold for all)."""
    tag = uuid.uuid4().hex[:6]
    return [members.topics.add_topic(f"Prefs {name} {tag}").topic_id
            for name in ("paper", "software")]


def preferences(client, headers):
    response = client.http.get("/api/v1/me/preferences", headers=headers)
    assert response.status_code == 200, response.body
    return response.json_body["preferences"]


def chosen(prefs) -> dict:
    return {t["id"]: t["chosen"] for t in prefs["topics"]}


def history(client, headers):
    return client.http.get("/api/v1/me/consents/history", headers=headers).json_body["events"]


def confirm(client, mailbox, email) -> dict:
    token = token_from(mailbox.wait_for(email)[-1], "/verify")
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token, "password": PASSWORD}).status_code == 200
    return login(client, email)


def test_every_topic_is_on_by_default_and_nothing_extra_is_recorded(client, mailbox, catalogue):
    _, headers = verified_member(client, mailbox)
    prefs = preferences(client, headers)
    assert all(chosen(prefs)[t] for t in catalogue)
    assert prefs["frequency"] == prefs["default_frequency"] == "week"
    assert prefs["frequency_chosen"] is False and prefs["snoozed_until"] is None
    assert {e["purpose"] for e in history(client, headers)} == {"offers", "partner_promotions"}


def test_gpc_at_registration_leaves_every_topic_off(client, mailbox, catalogue):
    email = new_email("gpc-topics")
    response = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD, "consents": {"offers": True}}, {"Sec-GPC": "1"})
    assert response.status_code == 202
    headers = confirm(client, mailbox, email)
    prefs = preferences(client, headers)
    assert not any(chosen(prefs).values())  # every topic there was, these two included
    member = Member.get(EmailClaim.get(email).member_id, consistent_read=True)
    assert set(catalogue) <= set(member.topics_off)
    events = {e["purpose"]: e for e in history(client, headers)}
    for topic in catalogue:
        assert (events[f"topic:{topic}"]["granted"], events[f"topic:{topic}"]["source"]) == (
            False, "registration")
    assert events["partner_promotions"]["granted"] is False


def test_gpc_at_registration_keeps_a_topic_the_registrant_ticks(client, mailbox, catalogue):
    email = new_email("gpc-ticked")
    response = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD,
        "consents": {"offers": True, "partner_promotions": True},
        "topics": {catalogue[0]: True}}, {"Sec-GPC": "1"})
    assert response.status_code == 202
    prefs = preferences(client, confirm(client, mailbox, email))
    assert chosen(prefs)[catalogue[0]] is True and chosen(prefs)[catalogue[1]] is False


def test_the_registration_form_unticks_topics_under_gpc_and_records_what_was_left(
        client, mailbox, catalogue):
    page = client.http.get("/register", headers={"Sec-GPC": "1"})
    body = page.body.decode()
    for topic in catalogue:
        box = re.search(rf'<input type="checkbox" id="topic-{topic}"[^>]*>', body).group(0)
        assert "checked" not in box
    plain = client.http.get("/register").body.decode()
    assert "checked" in re.search(rf'<input type="checkbox" id="topic-{catalogue[0]}"[^>]*>',
                                  plain).group(0)

    vid = cookie_value(page, VISITOR_COOKIE)[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    shown = re.search(r'name="topics_shown" value="([^"]*)"', body).group(1)
    email = new_email("form-topics")
    submitted = client.http.post("/register", body=urlencode({
        "email": email, "password": PASSWORD, "offers": "on", "partner_promotions": "on",
        f"topic-{catalogue[1]}": "on", "topics_shown": shown, "csrf_token": csrf}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Sec-GPC": "1",
                 "Cookie": f"{VISITOR_COOKIE}={vid}"})
    assert submitted.status_code == 200, submitted.body
    prefs = preferences(client, confirm(client, mailbox, email))
    assert (chosen(prefs)[catalogue[0]], chosen(prefs)[catalogue[1]]) == (False, True)


def test_an_unknown_topic_at_registration_is_refused_and_nothing_is_registered(
        client, mailbox):
    email = new_email("unknown-topic")
    response = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD,
        "consents": {"offers": True, "partner_promotions": True},
        "topics": {"no-such-topic": False}})
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "unknown_topic"
    assert response.json_body["error"]["field"] == "topics"
    assert mailbox.to(email) == []


def test_the_preference_centre_records_topics_and_frequency_with_receipts(
        client, mailbox, catalogue):
    email, headers = verified_member(client, mailbox)
    member_id = EmailClaim.get(email).member_id
    before = history(client, headers)

    response = post_json(client, "/api/v1/me/preferences", {
        "topics": {catalogue[0]: False, catalogue[1]: True}, "frequency": "month"},
        headers, method="PUT")
    assert response.status_code == 200, response.body
    prefs = response.json_body["preferences"]
    assert (chosen(prefs)[catalogue[0]], chosen(prefs)[catalogue[1]]) == (False, True)
    assert (prefs["frequency"], prefs["frequency_chosen"]) == ("month", True)

    # Only what changed is recorded: the topic turned off and the frequency.
    added = history(client, headers)[len(before):]
    assert [(e["purpose"], e["granted"], e["source"], e.get("value")) for e in added] == [
        ("frequency", True, "preference_center", "month"),
        (f"topic:{catalogue[0]}", False, "preference_center", None)]
    again = post_json(client, "/api/v1/me/preferences", {"frequency": "month"}, headers,
                      method="PUT")
    assert again.status_code == 200 and len(history(client, headers)) == len(before) + 2

    for event in added:
        receipt = client.http.get(f"/api/v1/me/consents/history/{event['id']}/receipt",
                                  headers=headers)
        assert receipt.status_code == 200
        assert post_json(client, "/api/v1/consent-receipts/verify",
                         {"receipt": receipt.json_body}).json_body == {"valid": True}
    topic_receipt = client.http.get(
        f"/api/v1/me/consents/history/{added[1]['id']}/receipt", headers=headers).json_body
    assert "Prefs paper" in topic_receipt["purpose"]["description"]
    assert topic_receipt["state"] == "withdrawn"

    exported = client.http.get("/api/v1/me/export", headers=headers).json_body
    assert exported["promotion_preferences"]["frequency"] == "month"
    assert {e["purpose"] for e in exported["consent_history"]} >= {
        "frequency", f"topic:{catalogue[0]}"}
    assert consent.verify_chain(member_id) == []

    page = client.http.get("/account", headers=headers).body.decode()
    assert "You chose at most one a month for partner promotions in your account." in page
    assert "You turned the topic “Prefs paper" in page


@pytest.mark.parametrize("body, field", [
    ({"topics": {"no-such-topic": False}}, "topics"),
    ({"topics": {"x": "yes"}}, "topics.x"),
    ({"frequency": "hourly"}, "frequency"),
    ({}, None),
    ({"frequency": "day", "colour": "red"}, None),
])
def test_bad_preferences_are_refused_and_change_nothing(client, mailbox, body, field):
    email, headers = verified_member(client, mailbox)
    before = history(client, headers)
    response = post_json(client, "/api/v1/me/preferences", body, headers, method="PUT")
    assert response.status_code == 400
    assert response.json_body["error"].get("field") == field
    assert history(client, headers) == before
    assert preferences(client, headers)["frequency_chosen"] is False


def test_a_member_pauses_every_promotion_and_ends_the_pause(client, mailbox):
    email, headers = verified_member(client, mailbox)
    member_id = EmailClaim.get(email).member_id
    paused = post_json(client, "/api/v1/me/snooze", {"period": "one_month"}, headers, method="PUT")
    assert paused.status_code == 200
    until = paused.json_body["preferences"]["snoozed_until"]
    assert until and until == history(client, headers)[-1]["value"]
    member = Member.get(member_id, consistent_read=True)
    assert not members.eligible(member, "offers")
    assert not members.eligible(member, "partner_promotions")

    assert post_json(client, "/api/v1/me/snooze", {"period": "a_while"}, headers,
                     method="PUT").status_code == 400
    ended = client.http.delete("/api/v1/me/snooze", headers=headers)
    assert ended.status_code == 200 and ended.json_body["preferences"]["snoozed_until"] is None
    last = history(client, headers)[-1]
    assert (last["purpose"], last["granted"], last["source"]) == ("snooze", False,
                                                                  "preference_center")
    assert members.eligible(Member.get(member_id, consistent_read=True), "offers")
    count = len(history(client, headers))
    client.http.delete("/api/v1/me/snooze", headers=headers)  # no pause: nothing recorded
    assert len(history(client, headers)) == count
    assert consent.verify_chain(member_id) == []
    assert client.http.get("/api/v1/me/preferences").status_code == 401
