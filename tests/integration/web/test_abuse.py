"""Abuse: CSRF, session fixation and replay, cookie tampering, partner IDOR, open redirects,
oversized bodies, header injection in e-mail, HTML injection, enumeration by response.

Each test attacks through the app in-process (chalice.test.Client) against DynamoDB Local and
the local SES server, and checks outcomes: what the attacker got, what is stored, what mail
the SES server captured.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from urllib.parse import urlsplit

import pytest

from chalicelib import ads, partners, promotions
from chalicelib.platform.crypto import sign
from chalicelib.platform.settings import get_settings
from chalicelib.web.cookies import SESSION_COOKIE, VISITOR_COOKIE, new_token
from tests.integration.helpers import (
    PASSWORD,
    cookie_value,
    login,
    new_email,
    post_json,
    register,
    token_from,
    verified_member,
)
from tests.integration.operator_helpers import set_up_with_totp
from tests.integration.partner_helpers import LANDING, bearer, click, new_partner, order, report

pytestmark = pytest.mark.usefixtures("stack")

EVIL = "https://evil.example"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
NOT_BY_COOKIE = ("/partner/", "/unsubscribe")  # by API key / signed token: no CSRF surface


def app_routes():
    from app import app

    return {(path, method) for path, entries in app.routes.items()
            if not path.startswith("/{") for method in entries}


def concrete(path: str, partner_id: str) -> str:
    return path.replace("{partner_id}", partner_id)


def me(client, headers):
    return client.http.get("/api/v1/me", headers=headers)


def vid_and_token():
    vid = new_token()
    return vid, sign("csrf", vid)


# --- CSRF ----------------------------------------------------------------------------------------


def test_every_state_changing_cookie_route_refuses_a_foreign_origin(client, mailbox):
    email, session = verified_member(client, mailbox)
    partner_id, _ = new_partner("Csrf")
    before = me(client, session).json_body["member"]
    vid, token = vid_and_token()
    routes = sorted((p, m) for p, m in app_routes()
                    if m in STATE_CHANGING and not p.startswith(NOT_BY_COOKIE))
    assert len(routes) >= 15
    for path, method in routes:
        # Everything a real same-site request would carry: session, visitor cookie, form token.
        headers = {"Cookie": f"{session['Cookie']}; {VISITOR_COOKIE}={vid}", "Origin": EVIL}
        if path.startswith("/api/"):
            body = json.dumps({"password": PASSWORD, "offers": False, "message": "hi",
                               "email": email}).encode()
            headers["Content-Type"] = "application/json"
        else:
            body = (f"csrf_token={token}&password={PASSWORD.replace(' ', '+')}&purpose=offers"
                    f"&granted=false&message=hi&action=send&email={email}").encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = client.http.request(method, concrete(path, partner_id), body=body,
                                       headers=headers)
        assert response.status_code == 403, (method, path, response.status_code)
        assert json.loads(response.body)["error"]["code"] == "csrf", (method, path)
    after = me(client, session)
    assert after.status_code == 200, "a refused logout or deletion still ended the session"
    assert after.json_body["member"] == before


@pytest.mark.parametrize("path", ["/account/consents", "/logout", "/account/delete"])
def test_same_site_forms_without_their_token_are_refused(client, mailbox, path):
    _, session = verified_member(client, mailbox)
    vid, _ = vid_and_token()
    response = client.http.post(path, body=f"purpose=offers&granted=false&password={PASSWORD}",
                                headers={"Cookie": f"{session['Cookie']}; {VISITOR_COOKIE}={vid}",
                                         "Content-Type": "application/x-www-form-urlencoded",
                                         "csrf_token": sign("csrf", new_token())})
    assert response.status_code == 403
    assert me(client, session).json_body["member"]["consents"]["offers"]["granted"] is True


@pytest.mark.parametrize("path, fields", [
    ("/login", "email=a%40example.org&password=x"),
    ("/register", "email=a%40example.org&password=x"),
    ("/admin/sign-in", "email=a%40example.org&password=x"),
])
def test_a_form_token_of_any_characters_is_refused_never_an_error(client, path, fields):
    vid, _ = vid_and_token()
    for token in ("%C3%A9", "%F0%9F%94%91" * 30, "%ED%A0%80"):  # é, emoji, a lone surrogate
        response = client.http.post(path, body=f"csrf_token={token}&{fields}", headers={
            "Cookie": f"{VISITOR_COOKIE}={vid}",
            "Content-Type": "application/x-www-form-urlencoded"})
        # 403 for a token that is not the visitor's; bytes that are not UTF-8 may be refused
        # before that, as a malformed form (400).
        expected = (400, 403) if token == "%ED%A0%80" else (403,)
        assert response.status_code in expected, (path, token, response.status_code)


def test_ids_of_any_characters_in_member_paths_are_refused_never_an_error(client, mailbox):
    _, session = verified_member(client, mailbox)
    for path in ("/api/v1/me/sessions/" + "é" * 24, "/api/v1/me/passkeys/" + "é" * 24,
                 "/r/" + "0" * 32 + ".0.0." + "é" * 22):
        response = client.http.request("DELETE" if "/me/" in path else "GET", path,
                                       headers=session)
        assert response.status_code in (400, 404), (path, response.status_code)


# --- sessions: fixation, replay, tampering -------------------------------------------------------


def test_a_session_id_planted_before_login_never_becomes_the_session(client, mailbox):
    email, _ = verified_member(client, mailbox)
    planted = new_token() + new_token()
    response = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD},
                         {"Cookie": f"{SESSION_COOKIE}={planted}"})
    issued, _ = cookie_value(response)
    assert issued and issued != planted
    assert me(client, {"Cookie": f"{SESSION_COOKIE}={planted}"}).status_code == 401
    # The form login too.
    vid, token = vid_and_token()
    form = client.http.post("/login", body=f"csrf_token={token}&email={email}&password="
                            + PASSWORD.replace(" ", "+"), headers={
                                "Cookie": f"{SESSION_COOKIE}={planted}; {VISITOR_COOKIE}={vid}",
                                "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 303
    assert cookie_value(form)[0] not in (None, planted)
    assert me(client, {"Cookie": f"{SESSION_COOKIE}={planted}"}).status_code == 401


def test_a_logged_out_cookie_replayed_is_refused(client, mailbox):
    email, session = verified_member(client, mailbox)
    assert client.http.delete("/api/v1/session", headers=session).status_code == 204
    for path in ("/api/v1/me", "/api/v1/me/export", "/api/v1/offers"):
        assert client.http.get(path, headers=session).status_code == 401
    assert client.http.get("/account", headers=session).status_code == 303
    # The form logout ends it server-side too.
    session = login(client, email)
    vid, token = vid_and_token()
    out = client.http.post("/logout", body=f"csrf_token={token}", headers={
        "Cookie": f"{session['Cookie']}; {VISITOR_COOKIE}={vid}",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert out.status_code == 303
    assert me(client, session).status_code == 401


def test_tampered_session_cookies_are_refused_never_an_error(client, mailbox):
    _, mine = verified_member(client, mailbox)
    _, other = verified_member(client, mailbox)
    value = mine["Cookie"].split("=", 1)[1]
    other_value = other["Cookie"].split("=", 1)[1]
    flipped = [value[:i] + ("A" if value[i] != "A" else "B") + value[i + 1:]
               for i in (0, len(value) // 2, len(value) - 1)]
    stored_hash = hashlib.sha256(other_value.encode()).hexdigest()  # what the table keys on
    tampered = [*flipped, stored_hash, value + "A", value[:-1], value.upper(), "x" * 5000,
                value * 200, "", value + "\x00", "%00", "../../etc/passwd"]
    for bad in tampered:
        response = me(client, {"Cookie": f"{SESSION_COOKIE}={bad}"})
        assert response.status_code == 401, (bad[:40], response.status_code)
    # A second session cookie after a bad one: the first wins, so no smuggling either way.
    both = me(client, {"Cookie": f"{SESSION_COOKIE}={flipped[0]}; {SESSION_COOKIE}={value}"})
    assert both.status_code == 401
    assert me(client, mine).status_code == 200 and me(client, other).status_code == 200


def test_a_tampered_visitor_cookie_is_replaced(client):
    for bad in ("short", "x" * 5000, "<script>", "a;b", ""):
        response = client.http.get("/healthz", headers={"Cookie": f"{VISITOR_COOKIE}={bad}"})
        assert response.status_code == 200
        issued = cookie_value(response, VISITOR_COOKIE)[0]
        assert issued and issued != bad


# --- partners: one never sees or touches another's data ------------------------------------------


def test_a_partner_cannot_read_or_change_another_partners_data(client):
    victim, victim_key = new_partner("Victim")
    attacker, attacker_key = new_partner("Attacker")
    victim_order = order(click(client, victim), amount="99.00")
    assert report(client, victim_key, victim_order).status_code == 201
    promotion = post_json(client, "/partner/v1/promotions", {"subject": "Victim sale",
                                                            "text": "Hello"}, bearer(victim_key))
    promotion_id = promotion.json_body["promotion"]["id"]
    order_id = victim_order["order_id"]
    day = victim_order.get("occurred_at", "")[:10] or __import__("datetime").date.today().isoformat()
    victim_hook = "https://hooks.victim-shop.example/eso"
    assert post_json(client, "/partner/v1/webhook", {"url": victim_hook}, bearer(victim_key),
                     method="PUT").status_code == 200
    attacks = {
        ("/partner/v1/transactions", "GET"): lambda: client.http.get(
            f"/partner/v1/transactions?from={day}&to={day}", headers=bearer(attacker_key)),
        ("/partner/v1/transactions", "POST"): lambda: report(
            client, attacker_key, {**victim_order, "order_id": "steal-" + order_id}),
        ("/partner/v1/transactions/{order_id}/reverse", "POST"): lambda: post_json(
            client, f"/partner/v1/transactions/{order_id}/reverse", {"reason": "mine now"},
            bearer(attacker_key)),
        ("/partner/v1/reports/daily", "GET"): lambda: client.http.get(
            f"/partner/v1/reports/daily?from={day}&to={day}", headers=bearer(attacker_key)),
        ("/partner/v1/promotions", "POST"): lambda: post_json(
            client, "/partner/v1/promotions", {"subject": "x", "text": "y",
                                               "partner_id": victim}, bearer(attacker_key)),
        ("/partner/v1/promotions/{promotion_id}", "GET"): lambda: client.http.get(
            f"/partner/v1/promotions/{promotion_id}", headers=bearer(attacker_key)),
        # The operator's topics are every partner's to read; nothing of another partner's.
        ("/partner/v1/topics", "GET"): lambda: client.http.get(
            "/partner/v1/topics", headers=bearer(attacker_key)),
        ("/partner/v1/webhook", "GET"): lambda: client.http.get(
            "/partner/v1/webhook", headers=bearer(attacker_key)),
        ("/partner/v1/webhook", "PUT"): lambda: post_json(
            client, "/partner/v1/webhook", {"url": "https://attacker.example/steal",
                                            "partner_id": victim}, bearer(attacker_key),
            method="PUT"),
        ("/partner/v1/webhook", "DELETE"): lambda: client.http.delete(
            "/partner/v1/webhook", headers=bearer(attacker_key)),
    }
    assert set(attacks) == {(p, m) for p, m in app_routes() if p.startswith("/partner/")}
    results = {route: attack() for route, attack in attacks.items()}
    listed = results[("/partner/v1/transactions", "GET")]
    assert listed.status_code == 200 and listed.json_body["transactions"] == []
    assert results[("/partner/v1/transactions", "POST")].status_code == 422  # not its click
    assert results[("/partner/v1/transactions/{order_id}/reverse", "POST")].status_code == 404
    days = results[("/partner/v1/reports/daily", "GET")].json_body["days"]
    assert all(d["clicks"] in (0, "<10") and d["transactions"] in (0, "<10") and not d["revenue"]
               for d in days)
    assert results[("/partner/v1/promotions", "POST")].status_code == 400  # no partner_id field
    assert results[("/partner/v1/promotions/{promotion_id}", "GET")].status_code == 404
    assert results[("/partner/v1/topics", "GET")].status_code == 200
    assert results[("/partner/v1/webhook", "GET")].status_code == 404  # the attacker has none
    assert results[("/partner/v1/webhook", "PUT")].status_code == 400  # no partner_id field
    assert results[("/partner/v1/webhook", "DELETE")].status_code == 204  # its own, none
    assert client.http.get("/partner/v1/webhook", headers=bearer(victim_key)).json_body[
        "webhook"]["url"] == victim_hook
    mine = client.http.get(f"/partner/v1/transactions?from={day}&to={day}",
                           headers=bearer(victim_key)).json_body["transactions"]
    assert [(t["order_id"], t["status"]) for t in mine] == [(order_id, "reported")]
    body = json.dumps([r.json_body for r in results.values() if r.body])
    assert victim not in body and "Victim sale" not in body and "99.00" not in body


# --- open redirects ------------------------------------------------------------------------------

REDIRECT_TRICKS = ["%2F%2Fevil.example", "%2F%2Fevil.example%2F", "..%2F..%2Fevil.example",
                   "%5C%5Cevil.example", "%5Cevil.example", "evil.example%40x", "@evil.example",
                   "x%40evil.example", "%E2%80%A8evil.example", "evil%E3%80%82example",
                   "%0d%0aLocation:%20https://evil.example", "https:evil.example",
                   "%68ttps://evil.example"]


def _assert_only_to(response, allowed_host: str) -> None:
    assert response.status_code in (302, 404), response.status_code
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).netloc == allowed_host
    for header, value in response.headers.items():
        assert "evil" not in str(value).lower(), (header, value)


def test_referral_links_redirect_only_to_the_registered_landing(client):
    partner_id, _ = new_partner("Redirect")
    landing_host = urlsplit(LANDING).netloc
    for trick in REDIRECT_TRICKS:
        _assert_only_to(client.http.get(f"/go/{trick}"), landing_host)
        _assert_only_to(client.http.get(f"/go/{partner_id}{trick}"), landing_host)
    for query in ("url=https://evil.example", "next=//evil.example", "redirect=%2F%2Fevil.example",
                  "eso_click=x&landing=https://evil.example"):
        response = client.http.get(f"/go/{partner_id}?{query}")
        assert response.status_code == 302
        _assert_only_to(response, landing_host)


def test_ad_clicks_redirect_only_to_the_stored_target(client):
    ad = ads.create_ad(slot=ads.declare_slot(f"abuse-{uuid.uuid4().hex[:6]}").slot, title="Ad",
                       target_url="https://ads.example/offer")
    for trick in REDIRECT_TRICKS:
        _assert_only_to(client.http.get(f"/ads/{trick}/click"), "ads.example")
        _assert_only_to(client.http.get(f"/ads/{ad.ad_id}{trick}/click"), "ads.example")
    response = client.http.get(f"/ads/{ad.ad_id}/click?url=https://evil.example&next=//evil")
    assert response.status_code == 302
    _assert_only_to(response, "ads.example")


def test_promotion_links_redirect_only_to_the_stored_target(client):
    from chalicelib.promotions.clicks import click_token

    partner_id, _ = new_partner("Mail links")
    promotion = promotions.create("partner", "Links", "Go to https://shop.example/deal now",
                                  partner_id=partner_id)
    token = click_token(promotion.promotion_id, 0, 0)
    for trick in REDIRECT_TRICKS:
        _assert_only_to(client.http.get(f"/r/{trick}"), "shop.example")
        _assert_only_to(client.http.get(f"/r/{token}{trick}"), "shop.example")
    response = client.http.get(f"/r/{token}?url=https://evil.example&next=//evil")
    assert response.status_code == 302
    _assert_only_to(response, "shop.example")


def test_login_next_never_leaves_the_site(client, mailbox):
    email, _ = verified_member(client, mailbox)
    for target in ("//evil.example", "https://evil.example", "/\\evil.example", "/members@evil",
                   "%2F%2Fevil.example"):
        page = client.http.get(f"/login?next={target}")
        assert b"evil" not in page.body
        vid, token = vid_and_token()
        response = client.http.post("/login", body=f"csrf_token={token}&email={email}&password="
                                    + PASSWORD.replace(" ", "+") + f"&next={target}",
                                    headers={"Cookie": f"{VISITOR_COOKIE}={vid}",
                                             "Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 303
        assert response.headers["Location"] == "/members?done=logged-in"


# --- oversized bodies ----------------------------------------------------------------------------


# Logout, ending sessions and ending a pause read no body (and the first would end the session).
READS_NO_BODY = {("/api/v1/session", "DELETE"), ("/api/v1/me/sessions", "DELETE"),
                 ("/api/v1/me/sessions/{session_id}", "DELETE"), ("/api/v1/me/snooze", "DELETE"),
                 ("/partner/v1/webhook", "DELETE")}


def test_oversized_bodies_are_refused_never_an_error(client, mailbox):
    _, session = verified_member(client, mailbox)
    partner_id, key = new_partner("Big")
    operator = set_up_with_totp(client)["browser"]
    pending = promotions.create("partner", "Big", "Body", partner_id=partner_id).promotion_id
    huge = json.dumps({"message": "x" * (1024 * 1024)}).encode()
    for path, method in sorted(app_routes()):
        if method not in STATE_CHANGING or (path, method) in READS_NO_BODY:
            continue
        # As a browser sends it: the console refuses a state-changing request without it.
        headers = {**session, **bearer(key), "Origin": get_settings().base_url}
        if path.startswith("/admin"):  # a signed-in operator, so the body is what is refused
            headers["Cookie"] = operator.headers()["Cookie"]
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            response = client.http.request(method, concrete(path, partner_id).replace(
                "{order_id}", "o-1").replace("{promotion_id}", pending), body=huge, headers={**headers, "Content-Type": content_type})
            refused = (400, 413, 415)
            if path.startswith(("/admin/setup", "/admin/sign-in/")):
                # Steps of another stage than a signed-in operator's: turned away (or sent on
                # to the console) before the body is read.
                refused += (303, 401)
            assert response.status_code in refused, (method, path, response.status_code)
    assert me(client, session).status_code == 200


# --- header injection in e-mail ------------------------------------------------------------------

INJECTED = "Pat\r\nBcc: victim@evil.example\r\nSubject: pwned\nX-Injected: 1"


def _assert_clean(mail: dict, recipients: list) -> None:
    assert mail["destination"]["to"] == recipients
    assert not mail["destination"].get("cc") and not mail["destination"].get("bcc")
    assert "\r" not in mail["subject"] and "\n" not in mail["subject"]
    assert "pwned" not in mail["subject"]
    for header in mail.get("headers") or []:
        assert header["name"].lower() not in ("bcc", "x-injected"), header
        assert "\n" not in header["value"] and "\r" not in header["value"], header
    if mail.get("replyTo"):
        assert all("evil" not in r for r in mail["replyTo"])


def test_names_and_messages_cannot_inject_mail_headers(client, mailbox):
    from chalicelib.platform.settings import get_settings

    email = new_email("inject")
    refused = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD, "display_name": INJECTED,
        "consents": {"offers": True, "partner_promotions": True}})
    assert refused.status_code == 400 and refused.json_body["error"]["field"] == "display_name"
    assert mailbox.to(email) == []
    response = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD, "display_name": "Pat Bcc: victim@evil.example",
        "consents": {"offers": True, "partner_promotions": True}})
    assert response.status_code == 202
    verification = mailbox.wait_for(email)[-1]
    _assert_clean(verification, [email])
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token_from(verification, "/verify"),
                      "password": PASSWORD}).status_code == 200
    session = login(client, email)

    partner_id, _ = new_partner("Inject")
    partner = partners.get_active(partner_id)
    sent = post_json(client, f"/api/v1/partners/{partner_id}/contact",
                     {"message": INJECTED}, session)
    assert sent.status_code == 202
    _assert_clean(mailbox.wait_for(partner.contact_email)[-1], [partner.contact_email])

    operator = get_settings().operator_email
    before = len(mailbox.to(operator))
    assert post_json(client, "/api/v1/contact", {
        "email": f"{email}\r\nBcc: victim@evil.example", "topic": "privacy",
        "message": "hi"}).status_code == 400
    assert post_json(client, "/api/v1/contact", {
        "email": email, "topic": "privacy", "message": INJECTED},
        {"X-Forwarded-For": new_email()}).status_code == 202
    mails = mailbox.wait_for(operator, before + 1)
    _assert_clean(mails[-1], [operator])
    assert not any("victim@evil.example" in json.dumps(m["destination"]) for m in mailbox.all())


def test_a_partner_promotion_subject_cannot_carry_a_header(client):
    _, key = new_partner("Subject")
    for subject in ("Sale\r\nBcc: victim@evil.example", "Sale\nX-Injected: 1", "Sale\rBcc: x"):
        response = post_json(client, "/partner/v1/promotions", {"subject": subject, "text": "t"},
                             bearer(key))
        assert response.status_code == 400, subject


# --- HTML injection ------------------------------------------------------------------------------

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _assert_escaped(body: bytes) -> None:
    text = body.decode()
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert" in text


def test_every_rendered_field_is_escaped(client, mailbox):
    email, _ = verified_member(client, mailbox)
    session = None
    # Display name: on the account page and the partner-contact preview.
    client_member = new_email("xss")
    assert register(client, client_member).status_code == 202
    token = token_from(mailbox.wait_for(client_member)[-1], "/verify")
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token, "password": PASSWORD}).status_code == 200
    from chalicelib.members.models import EmailClaim, Member

    member_id = EmailClaim.get(client_member).member_id
    Member(member_id).update(actions=[Member.display_name.set(XSS)])
    session = login(client, client_member)
    # Partner name and description: in the members' offers, the account's referral list.
    partner_id, _ = new_partner(XSS, description=XSS)
    click(client, partner_id, session)
    for path in ("/account", "/members", f"/partners/{partner_id}/contact"):
        page = client.http.get(path, headers=session)
        assert page.status_code == 200, path
        _assert_escaped(page.body)
    # Ad title and body on the home page (its slot's only ad, so it is the one shown).
    slot = "home"
    ad = ads.create_ad(slot=slot, title=XSS, body=XSS, target_url="https://ads.example/x",
                       weight=1000)
    ads.slot_cache.clear()
    try:
        shown = False
        for _ in range(30):
            page = client.http.get("/")
            assert page.status_code == 200
            if ad.click_url.encode() in page.body:
                _assert_escaped(page.body)
                shown = True
                break
        assert shown, "the ad was never shown"
    finally:
        ads.disable_ad(ad.ad_id)
        ads.slot_cache.clear()
    # The contact form echoes what was typed when it refuses it.
    vid, csrf = vid_and_token()
    echoed = client.http.post("/contact", body=f"csrf_token={csrf}&email=not-an-address&topic="
                              f"privacy&message=%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E",
                              headers={"Cookie": f"{VISITOR_COOKIE}={vid}",
                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert echoed.status_code == 400
    assert b"<script>alert" not in echoed.body and b"&lt;script&gt;alert" in echoed.body
    # Mail that shows the name: the partner receives it escaped in the HTML part.
    partner = partners.get_active(partner_id)
    if partner.contact_email:
        post_json(client, f"/api/v1/partners/{partner_id}/contact", {"message": XSS}, session)
        mail = mailbox.wait_for(partner.contact_email)[-1]
        assert "<script>alert" not in mail["body"]["html"]


# --- enumeration by response ---------------------------------------------------------------------


def _normalised(response) -> tuple:
    body = re.sub(rb'name="csrf_token" value="[^"]+"', b"", response.body or b"")
    return response.status_code, body


def test_known_and_unknown_addresses_get_identical_answers(client, mailbox):
    known, _ = verified_member(client, mailbox)
    unknown = new_email("nobody")
    pairs = {
        "register": lambda e: post_json(client, "/api/v1/members", {
            "email": e, "password": PASSWORD, "consents": {"offers": True,
                                                          "partner_promotions": True}}),
        "login": lambda e: post_json(client, "/api/v1/session", {"email": e,
                                                                 "password": "wrong password!"}),
        "reset": lambda e: post_json(client, "/api/v1/password-reset", {"email": e}),
    }
    for name, call in pairs.items():
        assert _normalised(call(known)) == _normalised(call(unknown)), name
    vid, token = vid_and_token()
    forms = {"/register": "password=" + PASSWORD.replace(" ", "+") + "&offers=on",
             "/login": "password=wrong+password%21", "/reset-password": ""}
    for path, extra in forms.items():
        answers = [client.http.post(path, body=f"csrf_token={token}&email={e}&{extra}", headers={
            "Cookie": f"{VISITOR_COOKIE}={vid}",
            "Content-Type": "application/x-www-form-urlencoded"}) for e in (known, unknown)]
        known_answer, unknown_answer = (_normalised(a) for a in answers)
        assert known_answer[0] == unknown_answer[0], path
        assert (known_answer[1].replace(known.encode(), b"E")
                == unknown_answer[1].replace(unknown.encode(), b"E")), path
