"""The operator console at /admin through the in-process app and DynamoDB Local: setting up
from the one-time link, signing in with a password and then a code or a passkey, what ends a
session, what is throttled and refused, and the audit log of every action. The clock is a
fake one, so TOTP steps and timeouts are exact."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from app import app
from chalicelib import operators
from chalicelib.operators import audit
from chalicelib.platform import clock, otp
from chalicelib.platform.errors import AuthenticationError, ConflictError
from chalicelib.web.cookies import ADMIN_COOKIE, SESSION_COOKIE
from tests.integration.helpers import cookie_value, new_email, verified_member
from tests.integration.operator_helpers import (
    OPERATOR_PASSWORD,
    Browser,
    code_now,
    set_up_with_totp,
    sign_in_with_totp,
    token_of,
)
from tests.integration.webauthn_helpers import SoftAuthenticator, b64

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def fake_clock():
    # Ten seconds into a fresh 15-minute window: the throttles count in fixed windows, and a
    # test that crossed a window's edge half-way would see its counts start again.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now + timedelta(seconds=900 - int(now.timestamp()) % 900 + 10)
    with clock.use(clock.FakeClock(start)) as fake:
        yield fake


def entries_of(operator_id: str) -> list:
    day = clock.now().date()
    found = audit.entries_of_day(day) + audit.entries_of_day(day - timedelta(days=1))
    return [e for e in found if operator_id in (e["actor"], e["target"])]


def actions_of(operator_id: str) -> list:
    return sorted(e["action"] for e in entries_of(operator_id))


def opens_console(browser: Browser) -> bool:
    answer = browser.get("/admin")
    if answer.status_code == 200:
        assert "Today" in answer.body.decode()
        return True
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/sign-in"
    return False


# --- setting up ------------------------------------------------------------------------------------


def test_the_setup_link_sets_a_password_then_a_factor_and_shows_recovery_codes_once(client, fake_clock):
    operator = set_up_with_totp(client)
    assert len(operator["recovery_codes"]) == 10
    assert opens_console(operator["browser"])  # set-up ends signed in
    listed = {o["operator_id"]: o for o in operators.list_all()}[operator["operator_id"]]
    assert (listed["status"], listed["second_factors"]) == ("active", ["totp"])
    # The codes are not on any later page.
    for path in ("/admin", "/admin/audit"):
        body = operator["browser"].get(path).body.decode()
        assert not any(code in body for code in operator["recovery_codes"])


def test_the_setup_link_works_once_and_expires_after_a_day(client, fake_clock):
    added = operators.add(new_email("operator"))
    token = token_of(added["setup_url"])
    assert Browser(client).get(f"/admin/setup?token={token}").status_code == 200
    assert Browser(client).form("/admin/setup", {"token": token, "password": OPERATOR_PASSWORD}).status_code == 303
    again = Browser(client).form("/admin/setup", {"token": token, "password": OPERATOR_PASSWORD})
    assert again.status_code == 400 and "not valid any more" in again.body.decode()

    late = operators.add(new_email("operator"))
    fake_clock.advance(24 * 3600 + 1)
    expired = Browser(client).get(f"/admin/setup?token={token_of(late['setup_url'])}")
    assert expired.status_code == 400
    forged = Browser(client).get(f"/admin/setup?token={late['operator_id']}.{'x' * 43}")
    assert forged.status_code == 400


def test_a_weak_password_is_refused_and_the_link_still_works(client, fake_clock):
    added = operators.add(new_email("operator"))
    token = token_of(added["setup_url"])
    weak = Browser(client).form("/admin/setup", {"token": token, "password": "password123"})
    assert weak.status_code == 400 and 'aria-invalid="true"' in weak.body.decode()
    assert Browser(client).form("/admin/setup", {"token": token, "password": OPERATOR_PASSWORD}).status_code == 303


# --- who gets in ------------------------------------------------------------------------------------


def test_a_member_session_never_opens_the_console(client, mailbox):
    _, member = verified_member(client, mailbox)
    value = member["Cookie"].split("=", 1)[1]
    assert client.http.get("/api/v1/me", headers=member).status_code == 200  # a live session
    for cookie in (f"{SESSION_COOKIE}={value}", f"{ADMIN_COOKIE}={value}"):
        for path in ("/admin", "/admin/audit", "/admin/audit/export", "/admin/sign-in/second-factor",
                     "/admin/setup/second-factor"):
            answer = client.http.get(path, headers={"Cookie": cookie})
            assert answer.status_code == 303, (path, cookie)
            assert answer.headers["Location"] == "/admin/sign-in"


def test_an_operator_without_a_second_factor_cannot_sign_in(client, fake_clock):
    email = new_email("operator")
    added = operators.add(email)
    halfway = Browser(client)
    assert halfway.form("/admin/setup", {"token": token_of(added["setup_url"]),
                                         "password": OPERATOR_PASSWORD}).status_code == 303
    assert not opens_console(halfway)  # the set-up session opens only the set-up step
    right = Browser(client).form("/admin/sign-in", {"email": email, "password": OPERATOR_PASSWORD})
    wrong = Browser(client).form("/admin/sign-in", {"email": email, "password": "not it at all 1234"})
    assert right.status_code == wrong.status_code == 401
    assert cookie_value(right, ADMIN_COOKIE) == (None, None)
    assert operators.get_operator(added["operator_id"]).status == "pending"


def test_an_old_setup_session_cannot_enrol_once_the_operator_is_set_up(client, fake_clock):
    """Link #1 is used, the operator is added again (link #2), the real operator sets up with
    link #2: whoever holds the session of link #1 enrols nothing and opens nothing."""
    email = new_email("operator")
    first = operators.add(email)
    old = Browser(client)
    assert old.form("/admin/setup", {"token": token_of(first["setup_url"]),
                                     "password": OPERATOR_PASSWORD}).status_code == 303
    # The holder of link #1 reads the authenticator-app key offered to it.
    seen = re.search(r'id="totp-secret">([A-Z2-7]+)<',
                     old.get("/admin/setup/second-factor").body.decode()).group(1)
    second = operators.add(email)
    assert second["operator_id"] == first["operator_id"]
    real = Browser(client)
    assert real.form("/admin/setup", {"token": token_of(second["setup_url"]),
                                      "password": OPERATOR_PASSWORD}).status_code == 303
    page = real.get("/admin/setup/second-factor").body.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert secret != seen  # a new link, a new key: the old link's holder knows nothing of it
    assert real.form("/admin/setup/totp", {"code": code_now(secret)}).status_code == 200
    assert operators.get_operator(first["operator_id"]).status == "active"
    stolen = Browser(client)
    assert stolen.form("/admin/sign-in", {"email": email, "password": OPERATOR_PASSWORD}
                       ).status_code == 303
    assert stolen.form("/admin/sign-in/totp", {"code": code_now(seen, 1)}).status_code == 401

    device = SoftAuthenticator(_rp_origin())
    options = old.json("/admin/setup/passkey/options")
    assert options.status_code == 401, options.body
    forged = device.create({"challenge": b64(b"c" * 32), "rp": {"id": _rp_id(), "name": "eSO"},
                            "user": {"id": b64(b"u" * 32), "name": email, "displayName": email}})
    enrolled = old.json("/admin/setup/passkey", {"credential": forged})
    assert enrolled.status_code == 401, enrolled.body
    assert not opens_console(old)
    assert old.get("/admin/setup/second-factor").headers["Location"] == "/admin/sign-in"
    listed = {o["operator_id"]: o for o in operators.list_all()}[first["operator_id"]]
    assert listed["second_factors"] == ["totp"]
    assert opens_console(real)


def test_a_setup_session_serves_a_pending_operator_only(client, fake_clock):
    """However a set-up session outlives its operator's set-up, it opens nothing, and the
    set-up steps refuse an operator that is already active."""
    from chalicelib.operators import factors, sessions

    operator = set_up_with_totp(client)
    before = operators.get_operator(operator["operator_id"])
    value, _ = sessions.create(operator["operator_id"], sessions.SETUP)
    assert sessions.lookup(value) is None
    stale = Browser(client)
    stale.admin = value
    assert stale.json("/admin/setup/passkey/options").status_code == 401
    assert not opens_console(stale)
    context = sessions.OperatorContext(operator["operator_id"], operator["email"],
                                       sessions.sha256_hex(value), sessions.SETUP, None, None,
                                       False, True)
    with pytest.raises(AuthenticationError):
        factors.registration_options(context)
    with pytest.raises(AuthenticationError):
        factors.totp_setup(context)
    after = operators.get_operator(operator["operator_id"])
    assert (after.recovery_codes, after.factors_version, after.user_handle) == (
        before.recovery_codes, before.factors_version, before.user_handle)


def test_a_passkey_and_an_app_enrolled_at_once_make_one_set_of_recovery_codes(client, fake_clock,
                                                                               monkeypatch):
    """Two set-up requests that read the same operator: the second to write is refused, so
    the recovery codes shown are the ones kept."""
    from chalicelib.operators import factors, sessions

    added = operators.add(new_email("operator"))
    browser = Browser(client)
    browser.form("/admin/setup", {"token": token_of(added["setup_url"]), "password": OPERATOR_PASSWORD})
    context = sessions.lookup(browser.admin)
    secret = factors.totp_setup(context)["secret"]
    device = SoftAuthenticator(_rp_origin())
    credential = device.create(factors.registration_options(context))
    read_before = operators.get_operator(added["operator_id"])  # what the passkey request read
    shown = factors.totp_confirm(context, code_now(secret))
    monkeypatch.setattr(factors, "get_operator", lambda _id: read_before)
    with pytest.raises(ConflictError):
        factors.register(context, credential)
    monkeypatch.undo()
    kept = operators.get_operator(added["operator_id"])
    assert factors._passkeys(kept) == {}
    assert len(shown) == 10 and {otp.recovery_hash(added["operator_id"], otp.clean(code))
                                 for code in shown} == set(kept.recovery_codes)


def test_the_password_alone_opens_only_the_second_step(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = Browser(client)
    browser.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    assert browser.admin is not None
    assert not opens_console(browser)
    assert browser.get("/admin/sign-in/second-factor").status_code == 200


def test_signing_in_with_a_code_and_signing_out(client, fake_clock):
    operator = set_up_with_totp(client)
    fake_clock.advance(30)
    browser = sign_in_with_totp(client, operator, code_now(operator["secret"]))
    assert opens_console(browser)
    signed_in = browser.admin
    ended = browser.form("/admin/sign-out", {})
    value, cookie = cookie_value(ended, ADMIN_COOKIE)
    assert value == "" and "Max-Age=0" in cookie
    browser.admin = signed_in  # the old cookie, replayed: ended on the server, not only cleared
    assert not opens_console(browser)
    browser_copy = Browser(client)
    browser_copy.admin = operator["browser"].admin  # another session of the same operator lives on
    assert opens_console(browser_copy)


def test_the_operator_cookie_has_the_session_cookie_attributes(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = Browser(client)
    answer = browser.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    _, cookie = cookie_value(answer, ADMIN_COOKIE)
    parts = [p.strip() for p in cookie.split(";")]
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= set(parts)
    assert not any(p.lower().startswith("domain") for p in parts)
    assert cookie.startswith("__Host-eso_admin=")


def test_sessions_end_after_15_idle_minutes_and_after_8_hours(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    fake_clock.advance(14 * 60)
    assert opens_console(browser)
    fake_clock.advance(15 * 60 + 1)
    assert not opens_console(browser)

    fake_clock.advance(60)
    busy = sign_in_with_totp(client, operator, code_now(operator["secret"]))
    signed_in_at = clock.now()
    for _ in range(40):  # in use every 14 minutes: never idle, still ends after 8 hours
        fake_clock.advance(14 * 60)
        if not opens_console(busy):
            break
    lasted = clock.now() - signed_in_at
    assert timedelta(hours=8) <= lasted < timedelta(hours=8, minutes=14)


def test_a_disabled_operators_sessions_end_at_once_and_it_cannot_sign_in(client, fake_clock):
    operator = set_up_with_totp(client)
    fake_clock.advance(30)
    other = sign_in_with_totp(client, operator, code_now(operator["secret"]))
    assert opens_console(operator["browser"]) and opens_console(other)
    done = operators.disable(operator["operator_id"])
    assert done["sessions_ended"] == 2
    assert not opens_console(operator["browser"]) and not opens_console(other)
    fake_clock.advance(30)
    again = Browser(client).form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    assert again.status_code == 401


# --- throttling and replay -------------------------------------------------------------------------------


def test_a_used_code_is_refused_when_replayed(client, fake_clock):
    operator = set_up_with_totp(client)
    fake_clock.advance(30)
    code = code_now(operator["secret"])
    sign_in_with_totp(client, operator, code)
    replay = Browser(client)
    replay.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    answer = replay.form("/admin/sign-in/totp", {"code": code})
    assert answer.status_code == 401 and "already used" in answer.body.decode()
    assert not opens_console(replay)


def test_wrong_codes_end_the_sign_in_and_are_throttled_per_operator(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = Browser(client)
    browser.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    statuses = [browser.form("/admin/sign-in/totp", {"code": "000000"}).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] in (303, 429)
    assert not opens_console(browser)
    # The operator's wrong codes count across sign-ins: a right code waits for the window.
    fresh = Browser(client)
    fresh.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    fake_clock.advance(30)
    blocked = fresh.form("/admin/sign-in/totp", {"code": code_now(operator["secret"])})
    assert blocked.status_code == 429 and blocked.headers.get("Retry-After")
    refused = [e for e in entries_of(operator["operator_id"]) if e["action"] == "second_factor_refused"]
    assert len(refused) >= 5


def test_wrong_passwords_are_throttled_per_address(client, fake_clock):
    operator = set_up_with_totp(client)
    statuses = [Browser(client).form("/admin/sign-in", {"email": operator["email"],
                                                        "password": f"wrong guess number {n}"}).status_code
                for n in range(6)]
    assert statuses == [401] * 5 + [429]
    right = Browser(client).form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    assert right.status_code == 429  # the right password waits too: no oracle during the lock
    fake_clock.advance(15 * 60)
    assert Browser(client).form("/admin/sign-in", {"email": operator["email"],
                                                   "password": OPERATOR_PASSWORD}).status_code == 303


def test_an_unknown_address_is_answered_like_a_wrong_password(client, fake_clock):
    unknown = Browser(client).form("/admin/sign-in", {"email": new_email("nobody"), "password": OPERATOR_PASSWORD})
    operator = set_up_with_totp(client)
    wrong = Browser(client).form("/admin/sign-in", {"email": operator["email"], "password": "not it at all 1234"})
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda body: re.sub(r'value="[^"]*"', "", body.decode())  # noqa: E731
    assert strip(unknown.body) == strip(wrong.body)


def test_the_password_step_reads_the_same_for_a_known_and_an_unknown_address(client, fake_clock,
                                                                             monkeypatch):
    """The same DynamoDB requests, whether the address is an operator's or nobody's."""
    from botocore.client import BaseClient

    operator = set_up_with_totp(client)
    calls, original = [], BaseClient._make_api_call

    def recording(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params.get("TableName"), params.get("IndexName"),
                          params.get("ConsistentRead")))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    seen = {}
    for name, email in (("known", operator["email"]), ("unknown", new_email("nobody"))):
        calls.clear()
        answer = Browser(client).form("/admin/sign-in", {"email": email, "password": "not it at all 1234"})
        assert answer.status_code == 401
        seen[name] = list(calls)
    operator_reads = [c for c in seen["known"] if c[1].endswith("operators")]
    assert [(c[0], c[2], c[3]) for c in operator_reads] == [
        ("Query", "operator-emails", None), ("GetItem", None, True)]
    assert seen["known"] == seen["unknown"]


def test_a_recovery_code_works_once(client, fake_clock):
    operator = set_up_with_totp(client)
    code = operator["recovery_codes"][0]
    sign_in_with_totp(client, operator, code)
    again = Browser(client)
    again.form("/admin/sign-in", {"email": operator["email"], "password": OPERATOR_PASSWORD})
    assert again.form("/admin/sign-in/totp", {"code": code}).status_code == 401


# --- passkeys -------------------------------------------------------------------------------------------


def _rp_origin():
    from chalicelib.members.passkeys import relying_party

    return relying_party()[1]


def _rp_id():
    from chalicelib.members.passkeys import relying_party

    return relying_party()[0]


def test_signing_in_with_a_passkey_and_a_replayed_answer_is_refused(client, fake_clock):
    email = new_email("operator")
    added = operators.add(email)
    device = SoftAuthenticator(_rp_origin())
    setup = Browser(client)
    setup.form("/admin/setup", {"token": token_of(added["setup_url"]), "password": OPERATOR_PASSWORD})
    options = setup.json("/admin/setup/passkey/options")
    assert options.status_code == 200, options.body
    done = setup.json("/admin/setup/passkey", {"credential": device.create(options.json_body["publicKey"])})
    assert done.status_code == 200, done.body
    assert len(done.json_body["recovery_codes"]) == 10
    assert opens_console(setup)

    browser = Browser(client)
    browser.form("/admin/sign-in", {"email": email, "password": OPERATOR_PASSWORD})
    challenge = browser.json("/admin/sign-in/passkey/options").json_body["publicKey"]
    # Only this operator's own key is offered (and no one else's is accepted).
    assert [c["id"] for c in challenge["allowCredentials"]] == [b64(cid) for cid in device.credentials]
    answer = device.get(challenge)
    signed = browser.json("/admin/sign-in/passkey", {"credential": answer})
    assert signed.status_code == 200 and signed.json_body["next"] == "/admin"
    assert opens_console(browser)

    thief = Browser(client)
    thief.form("/admin/sign-in", {"email": email, "password": OPERATOR_PASSWORD})
    thief.json("/admin/sign-in/passkey/options")
    replayed = thief.json("/admin/sign-in/passkey", {"credential": answer})
    assert replayed.status_code == 400 and replayed.json_body["error"]["code"] == "invalid_challenge"
    assert not opens_console(thief)
    assert "passkey" in {e["detail"].get("method") for e in entries_of(added["operator_id"])}


def test_a_passkey_answer_for_another_site_is_refused(client, fake_clock):
    """What a phishing site relays: an answer the browser bound to the look-alike's origin."""
    email = new_email("operator")
    added = operators.add(email)
    device = SoftAuthenticator(_rp_origin())
    setup = Browser(client)
    setup.form("/admin/setup", {"token": token_of(added["setup_url"]), "password": OPERATOR_PASSWORD})
    options = setup.json("/admin/setup/passkey/options").json_body["publicKey"]
    setup.json("/admin/setup/passkey", {"credential": device.create(options)})
    browser = Browser(client)
    browser.form("/admin/sign-in", {"email": email, "password": OPERATOR_PASSWORD})
    challenge = browser.json("/admin/sign-in/passkey/options").json_body["publicKey"]
    phished = browser.json("/admin/sign-in/passkey", {
        "credential": device.get(challenge, origin="https://esmalloffice-login.example")})
    assert phished.status_code == 401
    assert not opens_console(browser)


# --- Origin and CSRF ----------------------------------------------------------------------------------------


ADMIN_POSTS = sorted(path for path, methods in app.routes.items()
                     if path.startswith("/admin") and "POST" in methods)


def test_the_console_has_state_changing_routes_to_check():
    assert "/admin/sign-in" in ADMIN_POSTS and "/admin/sign-out" in ADMIN_POSTS
    assert len(ADMIN_POSTS) >= 8


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_every_console_post_refuses_another_origin_and_a_missing_one(client, fake_clock, path):
    operator = set_up_with_totp(client)
    for sent in ("https://evil.example", "null", None):
        browser = Browser(client, send_origin=sent)
        browser.admin = operator["browser"].admin
        answer = browser.form(path, {"email": operator["email"], "password": OPERATOR_PASSWORD,
                                     "code": code_now(operator["secret"], 1)})
        assert answer.status_code == 403, (path, sent)
        assert answer.json_body["error"]["code"] == "csrf"
    assert opens_console(operator["browser"])  # nothing happened to the session


def test_console_pages_refuse_another_origin_too(client, fake_clock):
    operator = set_up_with_totp(client)
    for path in ("/admin", "/admin/audit", "/admin/audit/export", "/admin/sign-in"):
        answer = operator["browser"].get(path, headers={"Origin": "https://evil.example"})
        assert answer.status_code == 403, path


def test_a_form_without_its_token_is_refused(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    answer = client.http.post("/admin/sign-out", body=b"", headers=browser.headers(
        content_type="application/x-www-form-urlencoded"))
    assert answer.status_code == 403
    assert opens_console(browser)


def test_console_pages_carry_the_strict_security_headers(client, fake_clock):
    operator = set_up_with_totp(client)
    answer = operator["browser"].get("/admin")
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert answer.headers["Cache-Control"] == "no-store"


# --- the audit log ------------------------------------------------------------------------------------------


def test_every_action_is_in_the_audit_log_with_who_what_when_and_request(client, fake_clock):
    operator = set_up_with_totp(client)
    operator_id = operator["operator_id"]
    fake_clock.advance(30)
    browser = sign_in_with_totp(client, operator, code_now(operator["secret"]))
    page = browser.get("/admin/audit")
    assert page.status_code == 200
    day = clock.now().date().isoformat()
    export = browser.get(f"/admin/audit/export?from={day}&to={day}")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    browser.form("/admin/sign-out", {})
    operators.disable(operator_id)
    operators.record("cli", "operator_disabled", target=operator_id)

    assert actions_of(operator_id) == sorted([
        "password_set", "second_factor_added", "signed_in", "signed_in", "audit_exported",
        "signed_out", "operator_disabled"])
    for entry in entries_of(operator_id):
        assert entry["at"].startswith(day)
        if entry["actor"] != "cli":
            assert entry["actor_email"] == operator["email"]
            assert re.fullmatch(r"[0-9a-f-]{36}", entry["request_id"] or ""), entry
    rows = list(csv.DictReader(io.StringIO(export.body.decode())))
    assert {"signed_in", "second_factor_added"} <= {r["action"] for r in rows if r["actor"] == operator_id}
    everything = export.body.decode() + page.body.decode()
    for secret in (OPERATOR_PASSWORD, operator["secret"], *operator["recovery_codes"]):
        assert secret not in everything


def test_audit_entries_are_append_only(client, fake_clock):
    from pynamodb.exceptions import PutError

    from chalicelib.operators.models import AuditRecord

    entry = audit.record("cli", "operator_added", target="op_x")
    stored = next(e for e in AuditRecord.query(entry["at"][:10]) if e.at.isoformat().startswith(entry["at"][:19]) and e.target == "op_x")
    with pytest.raises(PutError):
        stored.save(condition=AuditRecord.entry_id.does_not_exist())
    with pytest.raises(ValueError):
        audit.record("cli", "operator_added", detail={"password": "hunter2"})


def test_an_export_refuses_a_bad_range_and_neutralises_formulas(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    assert browser.get("/admin/audit/export?from=2026-02-30&to=2026-03-01").status_code == 400
    assert browser.get("/admin/audit/export?from=2026-03-02&to=2026-03-01").status_code == 400
    assert browser.get("/admin/audit/export?from=2025-01-01&to=2026-03-01").status_code == 400
    assert browser.get("/admin/audit/export?from=9999-12-31&to=9999-12-31").status_code == 400
    for day in ("0001-01-01", "9999-12-31"):  # the day before or after would not exist
        assert browser.get(f"/admin/audit?day={day}").status_code == 400
    assert audit.as_csv([{"at": "x", "actor": "=cmd()", "actor_email": None, "action": "a",
                          "target": "+1", "request_id": None, "detail": {}}]).splitlines()[1] \
        .startswith("x,'=cmd(),,a,'+1")


def test_the_today_page_shows_the_days_figures(client, fake_clock):
    operator = set_up_with_totp(client)
    body = operator["browser"].get("/admin").body.decode()
    assert "Registrations" in body and "Visits (distinct visitors)" in body
    figures = re.findall(r'<tr data-key="(\w+)"><th scope="row">[^<]+</th><td>([^<]+)</td>', body)
    assert len(figures) == 12
    assert all(re.fullmatch(r"0|&lt;\d+|[\d,]+", value) for _, value in figures), figures


# --- re-authentication -------------------------------------------------------------------------------------


def test_exporting_the_audit_log_needs_the_second_factor_within_10_minutes(client, fake_clock):
    operator = set_up_with_totp(client)
    browser = operator["browser"]
    day = clock.now().date().isoformat()
    export = f"/admin/audit/export?from={day}&to={day}"
    assert browser.get(export).status_code == 200  # just signed in: recent enough
    fake_clock.advance(10 * 60 + 1)
    assert browser.get("/admin").status_code == 200  # the session lives on ...
    asked = browser.get(export)  # ... but the export asks again
    assert asked.status_code == 303 and asked.headers["Location"] == "/admin/confirm?next=audit"
    assert browser.get("/admin/confirm?next=audit").status_code == 200
    wrong = browser.form("/admin/confirm/totp", {"code": "000000", "next": "audit"})
    assert wrong.status_code == 401
    assert browser.get(export).status_code == 303
    right = browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]), "next": "audit"})
    assert right.status_code == 303 and right.headers["Location"] == "/admin/audit"
    assert browser.get(export).status_code == 200
    elsewhere = browser.form("/admin/confirm/totp", {"code": operator["recovery_codes"][0],
                                                    "next": "https://evil.example/"})
    assert elsewhere.headers["Location"] == "/admin"  # never a place named by the request
    assert actions_of(operator["operator_id"]).count("identity_confirmed") == 2


def test_re_confirming_with_a_passkey(client, fake_clock):
    email = new_email("operator")
    added = operators.add(email)
    device = SoftAuthenticator(_rp_origin())
    browser = Browser(client)
    browser.form("/admin/setup", {"token": token_of(added["setup_url"]), "password": OPERATOR_PASSWORD})
    options = browser.json("/admin/setup/passkey/options").json_body["publicKey"]
    browser.json("/admin/setup/passkey", {"credential": device.create(options)})
    fake_clock.advance(11 * 60)
    day = clock.now().date().isoformat()
    assert browser.get(f"/admin/audit/export?from={day}&to={day}").status_code == 303
    page = browser.get("/admin/confirm?next=audit").body.decode()
    assert 'data-answer="/admin/confirm/passkey?next=audit"' in page
    challenge = browser.json("/admin/confirm/passkey/options").json_body["publicKey"]
    done = browser.json("/admin/confirm/passkey?next=audit", {"credential": device.get(challenge)})
    assert done.status_code == 200, done.body
    assert done.json_body["next"] == "/admin/audit"  # back where the confirmation was asked
    assert browser.get(f"/admin/audit/export?from={day}&to={day}").status_code == 200
    challenge = browser.json("/admin/confirm/passkey/options").json_body["publicKey"]
    elsewhere = browser.json("/admin/confirm/passkey?next=https://evil.example/",
                             {"credential": device.get(challenge)})
    assert elsewhere.json_body["next"] == "/admin"  # never a place named by the request


# --- promotions ---------------------------------------------------------------------------------------------


def _pending_promotion(subject: str) -> tuple:
    from chalicelib import promotions
    from chalicelib.platform.vocabulary import PARTNER
    from tests.integration.partner_helpers import new_partner

    partner_id, key = new_partner("Review shop", privacy_policy_url="https://shop.example/privacy")
    promotion = promotions.create(PARTNER, subject, "Half price on toner, this week only.",
                                  '<p>Half price, <a href="https://shop.example/">here</a>.</p>',
                                  partner_id=partner_id)
    return promotion.promotion_id, key


def test_the_review_queue_previews_the_exact_mail(client, fake_clock):
    operator = set_up_with_totp(client)
    promotion_id, _ = _pending_promotion("Toner <b>deal</b> " + new_email("x")[:12])
    queue = operator["browser"].get("/admin/promotions")
    assert queue.status_code == 200 and f"/admin/promotions/{promotion_id}" in queue.body.decode()
    page = operator["browser"].get(f"/admin/promotions/{promotion_id}").body.decode()
    assert "Toner &lt;b&gt;deal&lt;/b&gt;" in page  # the subject as text, never as markup
    assert "List-Unsubscribe" in page and "[each member&#39;s own token]" in page
    assert "Half price on toner" in page and "1 Market Street" in page  # the footer's address
    assert 'sandbox srcdoc="' in page and "<script" not in page.split("<main", 1)[1]


def test_today_counts_the_promotions_waiting_for_review(client, fake_clock):
    operator = set_up_with_totp(client)

    def waiting() -> int:
        body = operator["browser"].get("/admin").body.decode()
        return int(re.search(r'id="pending-reviews"><a href="/admin/promotions">(\d+) promotion', body).group(1))

    before = waiting()
    promotion_id, _ = _pending_promotion("Counted")
    assert waiting() == before + 1
    operator["browser"].form(f"/admin/promotions/{promotion_id}/reject", {"reason": "No end date."})
    assert waiting() == before


def test_rejecting_with_a_reason_the_partner_reads(client, fake_clock):
    from tests.integration.partner_helpers import bearer

    operator = set_up_with_totp(client)
    promotion_id, key = _pending_promotion("To reject")
    browser = operator["browser"]
    empty = browser.form(f"/admin/promotions/{promotion_id}/reject", {"reason": "  "})
    assert empty.status_code == 400 and 'id="reason"' in empty.body.decode()
    seen = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key)).json_body
    assert seen["promotion"]["status"] == "pending_review"  # a refused form changes nothing

    done = browser.form(f"/admin/promotions/{promotion_id}/reject",
                        {"reason": "The offer needs\nits end date."})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/promotions?done=rejected"
    seen = client.http.get(f"/partner/v1/promotions/{promotion_id}", headers=bearer(key)).json_body
    assert seen["promotion"]["status"] == "rejected"
    assert seen["promotion"]["review_reason"] == "The offer needs its end date."
    assert f"/admin/promotions/{promotion_id}" not in browser.get("/admin/promotions").body.decode()
    again = browser.form(f"/admin/promotions/{promotion_id}/reject", {"reason": "twice"})
    assert again.status_code == 409
    [entry] = [e for e in entries_of(operator["operator_id"]) if e["action"] == "promotion_rejected"]
    assert entry["target"] == promotion_id and entry["detail"]["reason"].startswith("The offer needs")
    assert browser.get("/admin/promotions/no-such-promotion").status_code == 404
