"""A member manages their own account: sessions, password, name."""
import pytest

from chalicelib.members.devices import device_summary
from tests.integration.helpers import (
    PASSWORD,
    SESSION_COOKIE,
    cookie_value,
    login,
    post_json,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


def login_as(client, email, user_agent, password=PASSWORD):
    response = client.http.request("POST", "/api/v1/session", headers={
        "Content-Type": "application/json", "User-Agent": user_agent},
        body=('{"email": "%s", "password": "%s"}' % (email, password)).encode())
    assert response.status_code == 200
    return {"Cookie": f"{SESSION_COOKIE}={cookie_value(response)[0]}"}


def sessions_of(client, headers):
    response = client.http.get("/api/v1/me/sessions", headers=headers)
    assert response.status_code == 200
    return response.json_body["sessions"]


def test_a_member_sees_their_sessions_and_ends_one_of_them(client, mailbox):
    email, first = verified_member(client, mailbox)
    office = login_as(client, email, FIREFOX_WINDOWS)
    phone = login_as(client, email, SAFARI_IPHONE)

    listed = sessions_of(client, phone)
    assert len(listed) == 3
    assert [s["current"] for s in listed].count(True) == 1
    current = next(s for s in listed if s["current"])
    assert current["device"] == "Safari on iPhone"
    assert {"Firefox on Windows", "Safari on iPhone"} <= {s["device"] for s in listed}
    for session in listed:
        assert set(session) == {"id", "current", "created_at", "last_seen_at", "device"}
        for header in (first, office, phone):  # the id is never the cookie or its hash
            assert session["id"] not in header["Cookie"]
    office_id = next(s["id"] for s in listed if s["device"] == "Firefox on Windows")

    ended = client.http.delete(f"/api/v1/me/sessions/{office_id}", headers=phone)
    assert ended.status_code == 204
    assert client.http.get("/api/v1/me", headers=office).status_code == 401
    assert client.http.get("/api/v1/me", headers=phone).status_code == 200
    assert client.http.get("/api/v1/me", headers=first).status_code == 200
    assert len(sessions_of(client, phone)) == 2
    again = client.http.delete(f"/api/v1/me/sessions/{office_id}", headers=phone)
    assert again.status_code == 404


def test_a_member_cannot_end_another_members_session(client, mailbox):
    _, mine = verified_member(client, mailbox)
    _, theirs = verified_member(client, mailbox)
    their_id = sessions_of(client, theirs)[0]["id"]
    refused = client.http.delete(f"/api/v1/me/sessions/{their_id}", headers=mine)
    assert refused.status_code == 404
    assert client.http.get("/api/v1/me", headers=theirs).status_code == 200


def test_ending_every_other_session_keeps_this_one(client, mailbox):
    email, first = verified_member(client, mailbox)
    others = [login(client, email) for _ in range(2)]
    assert client.http.delete("/api/v1/me/sessions", headers=first).status_code == 204
    for headers in others:
        assert client.http.get("/api/v1/me", headers=headers).status_code == 401
    assert [s["current"] for s in sessions_of(client, first)] == [True]


def test_changing_the_password_ends_other_sessions_and_mails_a_notice(client, mailbox):
    email, first = verified_member(client, mailbox)
    other = login(client, email)
    before = len(mailbox.to(email))

    wrong = post_json(client, "/api/v1/me/password", {
        "current_password": "not the password", "new_password": "a brand new passphrase"},
        first, method="PUT")
    assert wrong.status_code == 401 and wrong.json_body["error"]["code"] == "invalid_credentials"
    assert client.http.get("/api/v1/me", headers=other).status_code == 200  # nothing changed

    weak = post_json(client, "/api/v1/me/password", {
        "current_password": PASSWORD, "new_password": "short"}, first, method="PUT")
    assert weak.status_code == 400 and weak.json_body["error"]["field"] == "new_password"

    changed = post_json(client, "/api/v1/me/password", {
        "current_password": PASSWORD, "new_password": "a brand new passphrase"},
        first, method="PUT")
    assert changed.status_code == 204
    new_value, cookie = cookie_value(changed)
    assert "HttpOnly" in cookie and "Secure" in cookie
    renewed = {"Cookie": f"{SESSION_COOKIE}={new_value}"}
    assert renewed != first
    assert client.http.get("/api/v1/me", headers=renewed).status_code == 200
    assert client.http.get("/api/v1/me", headers=first).status_code == 401  # the old id is gone
    assert client.http.get("/api/v1/me", headers=other).status_code == 401
    assert post_json(client, "/api/v1/session",
                     {"email": email, "password": PASSWORD}).status_code == 401
    login(client, email, "a brand new passphrase")
    notices = mailbox.wait_for(email, count=before + 1)[before:]
    assert len(notices) == 1 and "password" in notices[0]["subject"].lower()


def test_the_current_password_cannot_be_guessed_faster_than_at_login(client, mailbox):
    email, headers = verified_member(client, mailbox)
    answers = [post_json(client, "/api/v1/me/password", {
        "current_password": f"guess number {i}", "new_password": "a brand new passphrase"},
        headers, method="PUT").status_code for i in range(7)]
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429]


def test_a_member_changes_their_name(client, mailbox):
    _, headers = verified_member(client, mailbox)
    changed = post_json(client, "/api/v1/me", {"display_name": "  Robin   Office "}, headers,
                        method="PATCH")
    assert changed.status_code == 200
    assert changed.json_body["member"]["display_name"] == "Robin Office"
    assert client.http.get("/api/v1/me", headers=headers).json_body["member"][
        "display_name"] == "Robin Office"
    bad = post_json(client, "/api/v1/me", {"display_name": "Robin\u0000"}, headers,
                    method="PATCH")
    assert bad.status_code == 400
    assert client.http.get("/api/v1/me", headers=headers).json_body["member"][
        "display_name"] == "Robin Office"
    other_site = post_json(client, "/api/v1/me", {"display_name": "Mallory"},
                           {**headers, "Origin": "https://evil.example"}, method="PATCH")
    assert other_site.status_code == 403


@pytest.mark.parametrize("agent, summary", [
    (FIREFOX_WINDOWS, "Firefox on Windows"),
    (SAFARI_IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/156.0.0.0 Safari/537.36", "Chrome on Linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.0 Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/140.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "curl"),
    ("", "Unknown device"),
    (None, "Unknown device"),
])
def test_device_summaries(agent, summary):
    assert device_summary(agent) == summary


def consents(client, headers):
    return client.http.get("/api/v1/me", headers=headers).json_body["member"]["consents"]


def history(client, headers):
    return client.http.get("/api/v1/me/consents/history", headers=headers).json_body["events"]


def test_a_signed_in_browser_with_gpc_withdraws_partner_promotions_once(client, mailbox):
    _, headers = verified_member(client, mailbox, offers=True, partner_promotions=True)
    assert consents(client, headers)["partner_promotions"]["granted"] is True
    with_gpc = {**headers, "Sec-GPC": "1"}

    assert client.http.get("/api/v1/me", headers=with_gpc).status_code == 200
    assert consents(client, headers)["partner_promotions"]["granted"] is False
    assert consents(client, headers)["offers"]["granted"] is True  # only partner promotions
    last = history(client, headers)[-1]
    assert (last["purpose"], last["granted"], last["source"]) == (
        "partner_promotions", False, "gpc")

    # The member's own later choice stands, however often the browser sends the signal.
    granted = post_json(client, "/api/v1/me/consents", {"partner_promotions": True}, with_gpc,
                        method="PUT")
    assert granted.status_code == 200
    for _ in range(2):
        client.http.get("/api/v1/me", headers=with_gpc)
    assert consents(client, headers)["partner_promotions"]["granted"] is True
    # ...in a new session too: the signal is applied once per member, not per session.
    again = {**login(client, _email_of(client, headers)), "Sec-GPC": "1"}
    client.http.get("/api/v1/me", headers=again)
    assert consents(client, headers)["partner_promotions"]["granted"] is True
    assert [e["source"] for e in history(client, headers)].count("gpc") == 1


def test_gpc_on_a_member_who_already_declined_records_nothing(client, mailbox):
    _, headers = verified_member(client, mailbox, offers=True, partner_promotions=False)
    before = history(client, headers)
    client.http.get("/api/v1/me", headers={**headers, "Sec-GPC": "1"})
    assert history(client, headers) == before


def _email_of(client, headers):
    return client.http.get("/api/v1/me", headers=headers).json_body["member"]["email"]


@pytest.mark.parametrize("password", ["Summer2024!", "qwertyuiop1", "esmalloffice2026",
                                      "password1234"])
def test_common_or_guessable_passwords_are_refused_with_advice(client, mailbox, password):
    from tests.integration.helpers import new_email, register

    email = new_email("weak")
    refused = register(client, email, password=password)
    assert refused.status_code == 400
    error = refused.json_body["error"]
    assert error["code"] == "weak_password" and error["field"] == "password"
    assert "unrelated words" in error["message"]
    assert mailbox.to(email) == []  # nothing was registered

    _, headers = verified_member(client, mailbox)
    change = post_json(client, "/api/v1/me/password", {
        "current_password": PASSWORD, "new_password": password}, headers, method="PUT")
    assert change.status_code == 400 and change.json_body["error"]["field"] == "new_password"


def test_a_password_made_of_the_members_own_address_is_refused(client, mailbox):
    from tests.integration.helpers import new_email, register

    email = new_email("ownaddress")
    refused = register(client, email, password=email.split("@")[0] + "!")
    assert refused.status_code == 400 and refused.json_body["error"]["code"] == "weak_password"


def test_each_consent_event_has_a_signed_receipt_anyone_can_check(client, mailbox):
    email, headers = verified_member(client, mailbox, offers=True, partner_promotions=False)
    events = history(client, headers)
    assert len({e["id"] for e in events}) == len(events) == 2
    offers = next(e for e in events if e["purpose"] == "offers")

    response = client.http.get(f"/api/v1/me/consents/history/{offers['id']}/receipt",
                               headers=headers)
    assert response.status_code == 200
    assert "attachment" in {k.lower(): v for k, v in response.headers.items()}["content-disposition"]
    receipt = response.json_body
    assert receipt["receipt_id"] == offers["id"]
    assert receipt["pii_principal_id"] == email
    assert receipt["purpose"]["id"] == "offers" and receipt["state"] == "given"
    assert receipt["policy_version"] == offers["policy_version"]
    assert receipt["time"] == offers["at"] and receipt["method"]["id"] == "registration"
    assert receipt["controller"]["name"] == "eSmallOffice"

    def check(body):
        return post_json(client, "/api/v1/consent-receipts/verify", body)

    genuine = check({"receipt": receipt})  # no session needed
    assert genuine.status_code == 200 and genuine.json_body == {"valid": True}
    for field, value in (("state", "withdrawn"), ("pii_principal_id", "someone@example.org"),
                         ("time", "2020-01-01T00:00:00Z")):
        tampered = {**receipt, field: value}
        assert check({"receipt": tampered}).json_body == {"valid": False}, field
    assert check({"receipt": {**receipt, "signature": {"alg": "none"}}}).json_body == {
        "valid": False}
    assert check({"receipt": {}}).json_body == {"valid": False}
    for bad in ({}, {"receipt": "text"}, {"receipt": receipt, "extra": 1}, [receipt]):
        assert check(bad).status_code == 400

    # Another member's event id is not in this member's history.
    _, other = verified_member(client, mailbox)
    assert client.http.get(f"/api/v1/me/consents/history/{offers['id']}/receipt",
                           headers=other).status_code == 404


def publish_new_policy_version(monkeypatch):
    """A second policy version published after the members of the test made their choices."""
    from chalicelib.platform import policy

    current = policy.current_policy()
    newer = current._replace(version="2027-02-01", effective_date="2027-02-01")
    monkeypatch.setitem(policy.VERSIONS, "a-later-text", ("2027-02-01", "2027-02-01"))
    monkeypatch.setitem(policy.CHANGES, "2027-02-01",
                        ("Partner promotions now name the partner in the subject.",))
    monkeypatch.setattr(policy, "current_policy", lambda: newer)
    return newer


def test_a_new_policy_version_is_answered_once_and_recorded_under_it(client, mailbox,
                                                                     monkeypatch):
    _, headers = verified_member(client, mailbox, offers=True, partner_promotions=False)
    notice = client.http.get("/api/v1/me/policy", headers=headers).json_body
    assert notice["changes"] == [] and notice["confirmed"] == notice["current"]["version"]

    newer = publish_new_policy_version(monkeypatch)
    notice = client.http.get("/api/v1/me/policy", headers=headers).json_body
    assert notice["current"]["version"] == newer.version
    assert [c["summary"] for c in notice["changes"]] == [
        ["Partner promotions now name the partner in the subject."]]

    stale = post_json(client, "/api/v1/me/policy", {"version": "2026-11-28"}, headers)
    assert stale.status_code == 409 and stale.json_body["error"]["code"] == "policy_changed"

    kept = post_json(client, "/api/v1/me/policy",
                     {"version": newer.version, "consents": {"partner_promotions": True}},
                     headers)
    assert kept.status_code == 200
    assert kept.json_body["member"]["consents"]["offers"]["granted"] is True
    assert kept.json_body["member"]["consents"]["partner_promotions"]["granted"] is True
    last_two = history(client, headers)[-2:]
    assert {(e["purpose"], e["granted"], e["source"], e["policy_version"]) for e in last_two} == {
        ("offers", True, "policy_update", newer.version),
        ("partner_promotions", True, "policy_update", newer.version)}
    assert client.http.get("/api/v1/me/policy", headers=headers).json_body["changes"] == []


def test_a_sign_in_from_a_new_kind_of_device_is_mailed_once(client, mailbox):
    email, _ = verified_member(client, mailbox)  # the first device is known without a mail
    before = len(mailbox.to(email))
    login_as(client, email, FIREFOX_WINDOWS)
    notices = mailbox.wait_for(email, count=before + 1)[before:]
    assert len(notices) == 1 and "new sign-in" in notices[0]["subject"].lower()
    assert "Firefox on Windows" in notices[0]["body"]["text"]
    assert "/account#sessions" in notices[0]["body"]["text"]
    login_as(client, email, FIREFOX_WINDOWS)  # the same kind of device again: no mail
    login(client, email)                      # nor the first one
    import time
    time.sleep(0.3)
    assert len(mailbox.to(email)) == before + 1
    from chalicelib.members.models import EmailClaim, Member
    stored = Member.get(EmailClaim.get(email).member_id).known_devices
    assert len(stored) == 2 and not any("Firefox" in key for key in stored)
