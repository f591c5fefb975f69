"""Passkeys through the JSON API, with a software authenticator answering the ceremonies as a
browser's would: adding one (password required), signing in with it without a password,
challenges used once and only by the browser they were issued to, user verification, the
origin, copied keys, removal, export and erasure."""
import uuid

import pytest

from chalicelib import members, privacy
from chalicelib.web.cookies import SESSION_COOKIE, VISITOR_COOKIE, new_token
from tests.integration.helpers import (
    PASSWORD,
    cookie_value,
    post_json,
    verified_member,
)
from tests.integration.webauthn_helpers import AT, UP, SoftAuthenticator, b64, tampered

pytestmark = pytest.mark.usefixtures("stack")


def browser(session=None) -> dict:
    """A browser of its own: a visitor cookie, and the session cookie when signed in."""
    vid = new_token()
    return {"Cookie": f"{VISITOR_COOKIE}={vid}" + (f"; {session['Cookie']}" if session else "")}


def authenticator() -> SoftAuthenticator:
    _, origin = members.passkeys.relying_party()
    return SoftAuthenticator(origin)


def add_passkey(client, headers, device, name="Laptop"):
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, headers)
    assert options.status_code == 200, options.body
    credential = device.create(options.json_body["publicKey"])
    added = post_json(client, "/api/v1/me/passkeys", {"credential": credential, "name": name}, headers)
    assert added.status_code == 201, added.body
    return added.json_body["passkey"]


def passkey_sign_in(client, device, headers=None, **answer):
    headers = headers or browser()
    options = post_json(client, "/api/v1/session/passkey/options", None, headers)
    assert options.status_code == 200, options.body
    credential = device.get(options.json_body["publicKey"], **answer)
    return post_json(client, "/api/v1/session/passkey", {"credential": credential}, headers)


def test_a_member_adds_a_passkey_then_signs_in_with_it_and_no_password(client, mailbox):
    email, session = verified_member(client, mailbox)
    headers, device = browser(session), authenticator()

    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, headers)
    public_key = options.json_body["publicKey"]
    assert public_key["rp"] == {"name": "eSmallOffice", "id": "localhost"}  # 127.0.0.1 cannot be
    assert public_key["user"]["name"] == email
    assert public_key["authenticatorSelection"]["residentKey"] == "required"
    assert public_key["authenticatorSelection"]["userVerification"] == "required"
    added = post_json(client, "/api/v1/me/passkeys", {
        "credential": device.create(public_key), "name": "Work laptop"}, headers)
    assert added.status_code == 201
    passkey = added.json_body["passkey"]
    assert passkey["name"] == "Work laptop" and passkey["last_used_at"] is None
    assert "Work laptop" in mailbox.wait_for(email, count=2)[-1]["body"]["text"]

    # A new browser, no password: the passkey alone signs in, to a normal session.
    answer = passkey_sign_in(client, device)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["member"]["email"] == email
    value, cookie = cookie_value(answer)
    assert "HttpOnly" in cookie and "Secure" in cookie
    passkey_session = {"Cookie": f"{SESSION_COOKIE}={value}"}
    assert client.http.get("/api/v1/me", headers=passkey_session).status_code == 200
    listed = client.http.get("/api/v1/me/passkeys", headers=passkey_session).json_body["passkeys"]
    assert [p["name"] for p in listed] == ["Work laptop"]
    assert listed[0]["last_used_at"] is not None
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at", "synced"}


def test_adding_a_passkey_needs_the_password_and_a_session(client, mailbox):
    _, session = verified_member(client, mailbox)
    headers = browser(session)
    wrong = post_json(client, "/api/v1/me/passkeys/options", {"password": "not my password"}, headers)
    assert wrong.status_code == 401 and wrong.json_body["error"]["code"] == "invalid_credentials"
    missing = post_json(client, "/api/v1/me/passkeys/options", {}, headers)
    assert missing.status_code == 400
    anonymous = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, browser())
    assert anonymous.status_code == 401
    # An answer to options nobody asked for (no live challenge) adds nothing.
    forged = authenticator().create({"rp": {"id": "localhost"}, "user": {"id": b64(b"x" * 32)},
                                     "challenge": new_token() + new_token()})
    refused = post_json(client, "/api/v1/me/passkeys", {"credential": forged}, headers)
    assert refused.status_code == 400
    assert client.http.get("/api/v1/me/passkeys", headers=headers).json_body["passkeys"] == []


def test_a_registration_challenge_belongs_to_its_session_and_works_once(client, mailbox):
    email, session = verified_member(client, mailbox)
    other_session = {"Cookie": f"{SESSION_COOKIE}={cookie_value(post_json(client, '/api/v1/session', {'email': email, 'password': PASSWORD}))[0]}"}
    device = authenticator()
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, session)
    credential = device.create(options.json_body["publicKey"])
    elsewhere = post_json(client, "/api/v1/me/passkeys", {"credential": credential}, other_session)
    assert elsewhere.status_code == 400
    assert elsewhere.json_body["error"]["code"] == "invalid_challenge"
    assert post_json(client, "/api/v1/me/passkeys", {"credential": credential}, session).status_code == 201
    again = post_json(client, "/api/v1/me/passkeys", {"credential": credential}, session)
    assert again.status_code == 400  # the challenge was spent


def test_a_sign_in_challenge_works_once_and_only_in_the_browser_it_was_issued_to(client, mailbox):
    _, session = verified_member(client, mailbox)
    device = authenticator()
    add_passkey(client, session, device)
    mine, theirs = browser(), browser()
    options = post_json(client, "/api/v1/session/passkey/options", None, mine).json_body["publicKey"]
    assert options["rpId"] == "localhost" and options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []  # discoverable: the device offers its own
    credential = device.get(options)
    stolen = post_json(client, "/api/v1/session/passkey", {"credential": credential}, theirs)
    assert stolen.status_code == 400 and stolen.json_body["error"]["code"] == "invalid_challenge"
    assert cookie_value(stolen) == (None, None)
    assert post_json(client, "/api/v1/session/passkey", {"credential": credential}, mine).status_code == 200
    replayed = post_json(client, "/api/v1/session/passkey", {"credential": credential}, mine)
    assert replayed.status_code == 400 and cookie_value(replayed) == (None, None)


def test_a_removed_passkey_no_longer_signs_in(client, mailbox):
    email, session = verified_member(client, mailbox)
    _, someone_else = verified_member(client, mailbox)
    device = authenticator()
    passkey = add_passkey(client, session, device)
    assert client.http.delete(f"/api/v1/me/passkeys/{passkey['id']}",
                              headers=someone_else).status_code == 404
    assert passkey_sign_in(client, device).status_code == 200
    assert client.http.delete(f"/api/v1/me/passkeys/{passkey['id']}", headers=session).status_code == 204
    refused = passkey_sign_in(client, device)
    assert refused.status_code == 401 and refused.json_body["error"]["code"] == "unknown_passkey"
    assert cookie_value(refused) == (None, None)
    assert client.http.delete(f"/api/v1/me/passkeys/{passkey['id']}", headers=session).status_code == 404
    assert "was removed" in mailbox.wait_for(email, count=3)[-1]["body"]["text"]


def test_a_copied_passkey_is_caught_by_its_counter(client, mailbox):
    _, session = verified_member(client, mailbox)
    device = authenticator()
    add_passkey(client, session, device)
    assert passkey_sign_in(client, device).status_code == 200     # counter 1
    copy = device.copy()
    assert passkey_sign_in(client, device).status_code == 200     # counter 2
    cloned = passkey_sign_in(client, copy)                         # the copy says 2 again
    assert cloned.status_code == 403
    assert cloned.json_body["error"]["code"] == "passkey_counter_mismatch"
    assert cookie_value(cloned) == (None, None)


def test_an_authenticator_that_does_not_count_still_signs_in(client, mailbox):
    _, session = verified_member(client, mailbox)
    device = authenticator()
    device.counting = False  # synced passkeys report 0 every time
    add_passkey(client, session, device)
    assert passkey_sign_in(client, device).status_code == 200
    assert passkey_sign_in(client, device).status_code == 200


def test_user_verification_the_origin_and_the_user_handle_are_checked(client, mailbox):
    _, session = verified_member(client, mailbox)
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, session)
    unverified = authenticator().create(options.json_body["publicKey"], flags=UP | AT)
    refused = post_json(client, "/api/v1/me/passkeys", {"credential": unverified}, session)
    assert refused.status_code == 400 and refused.json_body["error"]["code"] == "invalid_passkey"
    device = authenticator()
    add_passkey(client, session, device)

    no_verification = passkey_sign_in(client, device, flags=UP)
    assert no_verification.status_code == 401
    assert no_verification.json_body["error"]["code"] == "invalid_passkey"
    phished = passkey_sign_in(client, device, origin="https://esmalloffice.example.evil.example")
    assert phished.status_code == 401 and phished.json_body["error"]["code"] == "invalid_passkey"
    someone = passkey_sign_in(client, device, user_handle=b64(b"another member's handle"))
    assert someone.status_code == 400
    assert passkey_sign_in(client, device).status_code == 200


@pytest.mark.parametrize("credential", [
    {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
    {"id": "x", "rawId": "x", "type": "public-key", "response": {"clientDataJSON": "%%%"}},
    {"id": "x", "rawId": "x", "type": "public-key", "response": {"clientDataJSON": b64(b"[1]")}},
    {"id": "x", "rawId": "x", "type": "public-key",
     "response": {"clientDataJSON": b64(b'{"challenge": 5}')}},
    {"id": "x", "rawId": "x", "type": "public-key",
     "response": {"clientDataJSON": b64(b'{"challenge": "' + b"A" * 43 + b'"}')}},
])
def test_malformed_answers_are_refused_with_400(client, mailbox, credential):
    _, session = verified_member(client, mailbox)
    for path, headers in (("/api/v1/session/passkey", browser()), ("/api/v1/me/passkeys", session)):
        answer = post_json(client, path, {"credential": credential}, headers)
        assert answer.status_code == 400, (path, answer.body)


def test_a_garbled_answer_to_a_live_challenge_is_refused_and_spends_it(client, mailbox):
    _, session = verified_member(client, mailbox)
    device = authenticator()
    add_passkey(client, session, device)
    headers = browser()
    options = post_json(client, "/api/v1/session/passkey/options", None, headers).json_body
    good = device.get(options["publicKey"])
    for bad in (tampered(good, signature=b64(b"\x30\x00")), tampered(good, authenticatorData="AA"),
                tampered(good, signature="not base64!")):
        answer = post_json(client, "/api/v1/session/passkey", {"credential": bad}, headers)
        assert 400 <= answer.status_code < 500, answer.body


def test_unknown_passkeys_from_one_network_are_throttled(client, monkeypatch):
    from chalice import local

    octets = uuid.uuid4().bytes
    monkeypatch.setattr(local.LambdaEventConverter, "LOCAL_SOURCE_IP",  # a network of its own
                        f"100.{64 + octets[0] % 64}.{octets[1]}.7")
    stranger = authenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": b64(b"nobody")},
                     "challenge": new_token()})
    statuses = [passkey_sign_in(client, stranger).status_code for _ in range(
        members.passkeys.UNKNOWN_PER_NETWORK[0] + 1)]
    assert statuses[:-1] == [401] * members.passkeys.UNKNOWN_PER_NETWORK[0]
    assert statuses[-1] == 429


def test_a_passkey_sign_in_counts_as_a_login_of_its_member(client, mailbox):
    email, session = verified_member(client, mailbox)
    device = authenticator()
    add_passkey(client, session, device)
    for i in range(members.LOGIN_FAILURES_ALLOWED):
        assert post_json(client, "/api/v1/session", {"email": email, "password": f"guess {i}"}
                         ).status_code == 401
    throttled = passkey_sign_in(client, device)
    assert throttled.status_code == 429


def test_the_export_lists_passkeys_by_name_and_dates_only_and_erasure_removes_them(client, mailbox):
    email, session = verified_member(client, mailbox)
    device = authenticator()
    add_passkey(client, session, device, name="Phone")
    assert passkey_sign_in(client, device).status_code == 200
    member_id = client.http.get("/api/v1/me", headers=session).json_body["member"]["id"]
    export = client.http.get("/api/v1/me/export", headers=session).json_body
    (passkey,) = export["passkeys"]
    assert set(passkey) == {"name", "created_at", "last_used_at"} and passkey["name"] == "Phone"
    assert b64(device.only_credential()) not in str(export)
    privacy.erase_member(member_id)
    refused = passkey_sign_in(client, device)
    assert refused.status_code == 401
    assert members.passkeys.list_for_member(member_id) == []
