"""Two-step sign-in (TOTP) through the JSON API: setting it up with the password and a first
code, the second step of a password sign-in (wrong, right and replayed codes, the step bound
to its browser), throttling, recovery codes used once, turning it off, and what a passkey
sign-in needs (no code). The clock is a fake one, so time steps are exact."""
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest

from chalicelib import members
from chalicelib.platform import clock
from chalicelib.platform.crypto import sign
from chalicelib.web.cookies import SESSION_COOKIE, VISITOR_COOKIE, new_token
from tests.integration.helpers import PASSWORD, cookie_value, post_json, token_from, verified_member
from tests.integration.webauthn_helpers import SoftAuthenticator

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def fake_clock():
    with clock.use(clock.FakeClock(datetime.now(timezone.utc).replace(microsecond=0))) as fake:
        yield fake


def code_at(secret: str, offset_steps: int = 0) -> str:
    """The app's code for the current time step (of the fake clock), or one before or after."""
    step = int(clock.now().timestamp()) // 30 + offset_steps
    return pyotp.TOTP(secret).generate_otp(step)


def browser(session=None) -> dict:
    vid = new_token()
    return {"Cookie": f"{VISITOR_COOKIE}={vid}" + (f"; {session['Cookie']}" if session else "")}


def turn_on(client, session) -> tuple:
    """Set up two-step sign-in; returns (secret, recovery codes)."""
    begun = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session)
    assert begun.status_code == 200, begun.body
    secret = begun.json_body["secret"]
    confirmed = post_json(client, "/api/v1/me/totp/confirm", {"code": code_at(secret)}, session)
    assert confirmed.status_code == 200, confirmed.body
    return secret, confirmed.json_body["recovery_codes"]


def password_step(client, email, headers):
    answer = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}, headers)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["status"] == "second_factor_required"
    assert cookie_value(answer) == (None, None)  # no session before the second step
    return answer.json_body["token"]


def second_step(client, token, code, headers):
    return post_json(client, "/api/v1/session/totp", {"token": token, "code": code}, headers)


def test_setting_up_needs_the_password_and_a_first_code(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    assert client.http.get("/api/v1/me/totp", headers=session).json_body["totp"] == {
        "enabled": False, "enabled_at": None, "recovery_codes_left": 0}
    wrong = post_json(client, "/api/v1/me/totp", {"password": "not the password"}, session)
    assert wrong.status_code == 401
    begun = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session).json_body
    uri = urlsplit(begun["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [begun["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["eSmallOffice"]
    assert email.replace("@", "%40") in uri.path

    bad = post_json(client, "/api/v1/me/totp/confirm", {"code": "000000"}, session)
    if code_at(begun["secret"]) != "000000":
        assert bad.status_code == 401 and bad.json_body["error"]["code"] == "invalid_code"
    assert not client.http.get("/api/v1/me/totp", headers=session).json_body["totp"]["enabled"]
    confirmed = post_json(client, "/api/v1/me/totp/confirm",
                          {"code": code_at(begun["secret"])}, session)
    assert confirmed.status_code == 200
    codes = confirmed.json_body["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    state = client.http.get("/api/v1/me/totp", headers=session).json_body["totp"]
    assert state["enabled"] and state["recovery_codes_left"] == 10
    assert "turned on" in mailbox.wait_for(email, count=2)[-1]["body"]["text"]
    again = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session)
    assert again.status_code == 409


def test_an_unconfirmed_set_up_expires(client, mailbox, fake_clock):
    _, session = verified_member(client, mailbox)
    secret = post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session).json_body["secret"]
    fake_clock.advance(16 * 60)
    late = post_json(client, "/api/v1/me/totp/confirm", {"code": code_at(secret)}, session)
    assert late.status_code == 400 and late.json_body["error"]["code"] == "totp_setup_expired"


def test_a_password_sign_in_then_wrong_right_and_replayed_codes(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(30)
    headers = browser()
    token = password_step(client, email, headers)

    wrong = second_step(client, token, "123456" if code_at(secret) != "123456" else "654321", headers)
    assert wrong.status_code == 401 and wrong.json_body["error"]["code"] == "invalid_code"
    assert cookie_value(wrong) == (None, None)
    right = second_step(client, token, code_at(secret), headers)  # the step survives a wrong code
    assert right.status_code == 200, right.body
    assert right.json_body["member"]["email"] == email
    value, _ = cookie_value(right)
    assert client.http.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={value}"}).status_code == 200
    assert second_step(client, token, code_at(secret), headers).status_code == 400  # token spent

    # The same code again, within its 30 seconds, for a new password sign-in: refused.
    again = password_step(client, email, headers)
    replayed = second_step(client, again, code_at(secret), headers)
    assert replayed.status_code == 401 and replayed.json_body["error"]["code"] == "invalid_code"
    # A code of an earlier step than the one used: refused too, though within the drift.
    assert second_step(client, again, code_at(secret, -1), headers).status_code == 401
    fake_clock.advance(30)
    assert second_step(client, again, code_at(secret), headers).status_code == 200


def test_codes_a_step_either_side_are_accepted_but_not_further(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(120)
    headers = browser()
    token = password_step(client, email, headers)
    assert second_step(client, token, code_at(secret, -2), headers).status_code == 401
    assert second_step(client, token, code_at(secret, 2), headers).status_code == 401
    assert second_step(client, token, code_at(secret, 1), headers).status_code == 200


def test_the_second_step_belongs_to_the_browser_and_expires(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(30)
    mine = browser()
    token = password_step(client, email, mine)
    stolen = second_step(client, token, code_at(secret), browser())
    assert stolen.status_code == 400 and stolen.json_body["error"]["code"] == "invalid_challenge"
    fake_clock.advance(6 * 60)
    late = second_step(client, token, code_at(secret), mine)
    assert late.status_code == 400 and cookie_value(late) == (None, None)


def test_wrong_codes_are_throttled_per_sign_in_and_per_member(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(30)
    headers = browser()
    wrong = "999999" if code_at(secret) != "999999" else "888888"
    token = password_step(client, email, headers)
    statuses = [second_step(client, token, wrong, headers).status_code for _ in range(5)]
    assert statuses == [401] * 5
    # The member's limit is reached: even the right code waits, from a new sign-in too.
    fresh = password_step(client, email, headers)
    throttled = second_step(client, fresh, code_at(secret), headers)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    # One sign-in step allows 5 tries, then it is used up.
    assert second_step(client, token, code_at(secret), headers).status_code == 429
    fake_clock.advance(15 * 60)
    assert second_step(client, fresh, code_at(secret), headers).status_code in (400, 429)
    newest = password_step(client, email, headers)
    assert second_step(client, newest, code_at(secret), headers).status_code == 200


def test_a_recovery_code_works_once(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    _, codes = turn_on(client, session)
    headers = browser()
    token = password_step(client, email, headers)
    used = second_step(client, token, codes[3].upper().replace("-", " "), headers)  # as typed
    assert used.status_code == 200, used.body
    assert "9 of them are left" in mailbox.wait_for(email, count=3)[-1]["body"]["text"]
    token = password_step(client, email, headers)
    assert second_step(client, token, codes[3], headers).status_code == 401
    assert second_step(client, token, codes[4], headers).status_code == 200
    state = client.http.get("/api/v1/me/totp", headers=session).json_body["totp"]
    assert state["recovery_codes_left"] == 8


def test_new_recovery_codes_replace_the_old_ones(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    _, old = turn_on(client, session)
    assert post_json(client, "/api/v1/me/totp/recovery-codes", {"password": "wrong one"},
                     session).status_code == 401
    new = post_json(client, "/api/v1/me/totp/recovery-codes", {"password": PASSWORD}, session)
    assert new.status_code == 200 and len(new.json_body["recovery_codes"]) == 10
    headers = browser()
    token = password_step(client, email, headers)
    assert second_step(client, token, old[0], headers).status_code == 401
    assert second_step(client, token, new.json_body["recovery_codes"][0], headers).status_code == 200


def test_turning_it_off_needs_the_password_and_a_code(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(30)

    def turn_off(password, code):
        return post_json(client, "/api/v1/me/totp", {"password": password, "code": code},
                         session, method="DELETE")

    assert turn_off("wrong password", code_at(secret)).status_code == 401
    assert turn_off(PASSWORD, "12345").status_code == 401
    assert post_json(client, "/api/v1/me/totp", {"password": PASSWORD}, session,
                     method="DELETE").status_code == 400
    assert client.http.get("/api/v1/me/totp", headers=session).json_body["totp"]["enabled"]
    assert turn_off(PASSWORD, code_at(secret)).status_code == 204
    assert "turned off" in mailbox.wait_for(email, count=3)[-1]["body"]["text"]
    signed_in = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200 and "member" in signed_in.json_body
    assert cookie_value(signed_in)[0]


def test_a_passkey_sign_in_needs_no_code(client, mailbox, fake_clock):
    _, session = verified_member(client, mailbox)
    turn_on(client, session)
    _, origin = members.passkeys.relying_party()
    device = SoftAuthenticator(origin)
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, session)
    assert post_json(client, "/api/v1/me/passkeys", {
        "credential": device.create(options.json_body["publicKey"])}, session).status_code == 201
    headers = browser()
    challenge = post_json(client, "/api/v1/session/passkey/options", None, headers).json_body
    answer = post_json(client, "/api/v1/session/passkey",
                       {"credential": device.get(challenge["publicKey"])}, headers)
    assert answer.status_code == 200 and cookie_value(answer)[0]


def test_a_password_reset_ends_a_sign_in_waiting_for_its_code(client, mailbox, fake_clock):
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    fake_clock.advance(30)
    headers = browser()
    token = password_step(client, email, headers)
    post_json(client, "/api/v1/password-reset", {"email": email})
    reset = [m for m in mailbox.wait_for(email, count=3) if "Reset" in m["subject"]][-1]
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(reset, "/reset-password"), "password": "a new password 2026"}
    ).status_code == 204
    assert second_step(client, token, code_at(secret), headers).status_code == 400


def test_the_export_says_whether_it_is_on_but_holds_no_secret(client, mailbox, fake_clock):
    _, session = verified_member(client, mailbox)
    secret, codes = turn_on(client, session)
    export = client.http.get("/api/v1/me/export", headers=session)
    text = export.body.decode()
    assert export.json_body["account"]["two_step_sign_in"]["recovery_codes_left"] == 10
    assert secret not in text and not any(code in text for code in codes)
    member = members.get_member(export.json_body["member"]["id"])
    assert secret not in (member.totp_secret or "")  # sealed at rest, not the secret itself


def form(client, path, fields, vid, session_value):
    """A form as the account page posts it: its CSRF token, the visitor and session cookies."""
    return client.http.post(path, body=urlencode({**fields, "csrf_token": sign("csrf", vid)}).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": f"{VISITOR_COOKIE}={vid}; {SESSION_COOKIE}={session_value}"})


def test_the_account_page_forms_answer_with_the_page_and_the_error_beside_the_form(client, mailbox):
    _, session = verified_member(client, mailbox)
    value, vid = session["Cookie"].split("=", 1)[1], new_token()
    wrong = form(client, "/account/totp", {"password": "not it"}, vid, value)
    assert wrong.status_code == 401
    section = wrong.body.decode().split('id="two-step"', 1)[1]
    assert "the password is wrong" in section and 'id="totp-password"' in section
    started = form(client, "/account/totp", {"password": PASSWORD}, vid, value)
    assert started.status_code == 303 and started.headers["Location"] == "/account"
    page = client.http.get("/account", headers=session).body.decode()
    assert 'id="totp-qr"' in page and 'src="data:image/svg+xml' in page
    bad_code = form(client, "/account/totp/confirm", {"code": "12"}, vid, value)
    assert bad_code.status_code == 401 and 'id="totp-qr"' in bad_code.body.decode()
    missing = form(client, "/account/passkeys/" + "0" * 24 + "/delete", {}, vid, value)
    assert missing.status_code == 200 and "already removed" in missing.body.decode()


FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1")


def test_two_step_and_passkey_sign_ins_from_a_new_kind_of_device_are_told(client, mailbox,
                                                                        fake_clock):
    # The members with most protection on get the same notice as a password-only sign-in.
    email, session = verified_member(client, mailbox)
    secret, _ = turn_on(client, session)
    _, origin = members.passkeys.relying_party()
    device = SoftAuthenticator(origin)
    options = post_json(client, "/api/v1/me/passkeys/options", {"password": PASSWORD}, session)
    assert post_json(client, "/api/v1/me/passkeys", {
        "credential": device.create(options.json_body["publicKey"])}, session).status_code == 201
    before = len(mailbox.to(email))

    fake_clock.advance(30)
    headers = {**browser(), "User-Agent": FIREFOX}
    token = password_step(client, email, headers)
    assert second_step(client, token, code_at(secret), headers).status_code == 200
    headers = {**browser(), "User-Agent": SAFARI}
    challenge = post_json(client, "/api/v1/session/passkey/options", None, headers).json_body
    answer = post_json(client, "/api/v1/session/passkey",
                       {"credential": device.get(challenge["publicKey"])}, headers)
    assert answer.status_code == 200, answer.body

    notices = [m for m in mailbox.wait_for(email, count=before + 2)[before:]
               if "new sign-in" in m["subject"].lower()]
    assert [n["body"]["text"].count("Firefox on Windows") for n in notices] == [1, 0]
    assert "Safari on iPhone" in notices[1]["body"]["text"]
