"""Members against DynamoDB Local and the local SES server: the journeys a member makes."""
import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import members
from chalicelib.members import consent, sessions
from chalicelib.members.consent import Provenance
from chalicelib.members.models import ConsentEvent, EmailClaim, Member, Session, Token
from chalicelib.platform.crypto import sha256_hex
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

pytestmark = pytest.mark.usefixtures("stack")


def member_by_email(email):
    claim = EmailClaim.get(email)
    return Member.get(claim.member_id, consistent_read=True)


def test_registration_sends_a_real_verification_mail_whose_link_works(client, mailbox):
    email = new_email()
    response = register(client, email)
    assert response.status_code == 202
    assert response.json_body == {"status": "verification_sent"}
    mails = mailbox.wait_for(email)
    assert len(mails) == 1
    assert mails[0]["subject"] == "Confirm your e-mail address for eSmallOffice"
    token = token_from(mails[0], "/verify")
    member = member_by_email(email)
    assert member.email_verified is False
    assert Token.get(__import__("hashlib").sha256(token.encode()).hexdigest())  # only the hash
    # The e-mail's link is the page that confirms the address.
    page = client.http.get(f"/verify?token={token}")
    assert page.status_code == 200 and "Confirm my address" in page.body.decode()
    assert member_by_email(email).email_verified is False  # opening the page changes nothing
    confirm = {"token": token, "password": PASSWORD}
    assert post_json(client, "/api/v1/members/verify", confirm).status_code == 200
    assert member_by_email(email).email_verified is True
    # Single use.
    again = post_json(client, "/api/v1/members/verify", confirm)
    assert again.status_code == 400 and again.json_body["error"]["code"] == "invalid_token"


def test_no_account_enumeration_on_registration(client, mailbox):
    email, _ = verified_member(client, mailbox)
    first = register(client, new_email())
    second = register(client, email, password="another password 123")
    assert (first.status_code, first.json_body) == (second.status_code, second.json_body)
    mails = mailbox.wait_for(email, count=2)
    assert mails[-1]["subject"] == "You already have an eSmallOffice account"
    assert member_by_email(email).display_name == "Pat Example"  # the account is unchanged


def test_registering_an_unconfirmed_address_again_later_sends_a_fresh_link(client, mailbox):
    email = new_email()
    register(client, email)
    later = datetime.now(timezone.utc) + members.RESEND_AFTER + timedelta(seconds=1)
    members.register(members.Registration(email=email, password=PASSWORD,
                                          consents={"offers": True, "partner_promotions": True}),
                     Provenance("registration", "/test"), now=later)
    mails = mailbox.wait_for(email, count=2)
    assert [m["subject"] for m in mails] == ["Confirm your e-mail address for eSmallOffice"] * 2
    older = post_json(client, "/api/v1/members/verify",
                      {"token": token_from(mails[0], "/verify"), "password": PASSWORD})
    assert older.status_code == 400 and "newer link" in older.json_body["error"]["message"]
    assert post_json(client, "/api/v1/members/verify",
                     {"token": token_from(mails[1], "/verify"), "password": PASSWORD}
                     ).status_code == 200


def test_twenty_concurrent_registrations_of_one_address_leave_one_account(mailbox):
    email = new_email("race")
    barrier = threading.Barrier(20)
    outcomes = []

    def attempt(i):
        barrier.wait()
        members.register(members.Registration(email=email, password=f"password number {i}",
                                              consents={"offers": True, "partner_promotions": i % 2 == 0}),
                         Provenance("registration", "/test"))
        outcomes.append(i)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 20  # every caller got the same answer, none an error
    accounts = [m for m in Member.scan(Member.email == email)]
    assert len(accounts) == 1
    assert EmailClaim.get(email).member_id == accounts[0].member_id
    assert consent.history(accounts[0].member_id) == []  # nothing consented before confirmation
    assert consent.verify_chain(accounts[0].member_id) == []


def test_login_session_cookie_and_logout_revokes_it_server_side(client, mailbox):
    email = new_email()
    register(client, email)
    post_json(client, "/api/v1/members/verify",
              {"token": token_from(mailbox.wait_for(email)[0], "/verify"), "password": PASSWORD})
    response = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json_body["member"]["email"] == email
    value, cookie = cookie_value(response)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    attributes = sorted(part.strip() for part in cookie.split(";")[1:])
    assert attributes == sorted(["Max-Age=43200", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"])
    headers = {"Cookie": f"__Host-eso_session={value}"}
    me = client.http.get("/api/v1/me", headers=headers)
    assert me.status_code == 200 and me.json_body["member"]["email_verified"] is True
    assert set(me.json_body["member"]) == {"id", "email", "email_verified", "display_name",
                                           "created_at", "consents"}
    logout = client.http.delete("/api/v1/session", headers=headers)
    assert logout.status_code == 204
    assert cookie_value(logout)[1].startswith("__Host-eso_session=;")
    replay = client.http.get("/api/v1/me", headers=headers)
    assert replay.status_code == 401 and replay.json_body["error"]["code"] == "not_authenticated"


def test_each_login_issues_a_new_session_and_revokes_the_one_presented(client, mailbox):
    email, first = verified_member(client, mailbox)
    response = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD},
                         headers=first)
    second_value, _ = cookie_value(response)
    assert f"={second_value}" not in first["Cookie"]
    assert client.http.get("/api/v1/me", headers=first).status_code == 401
    assert client.http.get("/api/v1/me",
                           headers={"Cookie": f"__Host-eso_session={second_value}"}).status_code == 200


def test_wrong_credentials_look_the_same_for_known_and_unknown_addresses(client, mailbox):
    email, _ = verified_member(client, mailbox)
    known = post_json(client, "/api/v1/session", {"email": email, "password": "wrong password!"})
    unknown = post_json(client, "/api/v1/session", {"email": new_email(), "password": "wrong password!"})
    malformed = post_json(client, "/api/v1/session", {"email": "not an address", "password": "x"})
    for response in (known, unknown, malformed):
        assert response.status_code == 401
        assert response.json_body == known.json_body
        assert response.json_body["error"]["code"] == "invalid_credentials"


def test_unverified_members_cannot_log_in(client, mailbox):
    email = new_email()
    register(client, email)
    response = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
    assert response.status_code == 403
    assert response.json_body["error"]["code"] == "email_not_verified"


def test_repeated_failures_for_one_address_are_throttled(client, mailbox):
    email, _ = verified_member(client, mailbox)
    codes = [post_json(client, "/api/v1/session", {"email": email, "password": "nope nope nope"}).status_code
             for _ in range(6)]
    assert codes == [401] * 5 + [429]
    blocked = post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json_body["error"]["code"] == "too_many_attempts"
    assert int(blocked.headers["Retry-After"]) > 0
    # Another address is not affected.
    other, _ = verified_member(client, mailbox)
    assert post_json(client, "/api/v1/session", {"email": other, "password": PASSWORD}).status_code == 200


def test_sessions_end_after_idle_and_absolute_timeouts(client, mailbox):
    email, _ = verified_member(client, mailbox)
    member = member_by_email(email)
    start = datetime.now(timezone.utc)
    value, _ = sessions.create(member.member_id, "test", now=start)
    assert sessions.lookup(value, now=start + timedelta(minutes=50)) is not None
    # Activity keeps it alive past the first idle hour...
    assert sessions.lookup(value, now=start + timedelta(minutes=100)) is not None
    # ...but not after an hour of inactivity...
    assert sessions.lookup(value, now=start + timedelta(minutes=161)) is None
    # ...and never beyond the absolute lifetime, however active.
    value2, _ = sessions.create(member.member_id, "test", now=start)
    for minutes in range(50, 12 * 60, 50):
        assert sessions.lookup(value2, now=start + timedelta(minutes=minutes)) is not None
    assert sessions.lookup(value2, now=start + timedelta(hours=12, minutes=1)) is None


def test_consent_changes_are_recorded_as_evidence(client, mailbox):
    email, headers = verified_member(client, mailbox, offers=False, partner_promotions=True)
    origin = {"Origin": "http://127.0.0.1:%s" % __import__("os").environ["ESO_APP_PORT"]}
    response = post_json(client, "/api/v1/me/consents", {"offers": True, "partner_promotions": False},
                         headers={**headers, **origin}, method="PUT")
    assert response.status_code == 200
    assert response.json_body["consents"]["offers"]["granted"] is True
    assert response.json_body["consents"]["partner_promotions"]["granted"] is False
    events = client.http.get("/api/v1/me/consents/history", headers=headers).json_body["events"]
    assert [(e["purpose"], e["granted"], e["source"]) for e in events] == [
        ("offers", False, "registration"), ("partner_promotions", True, "registration"),
        ("offers", True, "preference_center"), ("partner_promotions", False, "preference_center")]
    assert all(set(e) == {"id", "purpose", "granted", "at", "source", "policy_version"}
               for e in events)
    member = member_by_email(email)
    stored = list(ConsentEvent.query(member.member_id))
    assert stored[-1].page == "/api/v1/me/consents" and stored[-1].origin == origin["Origin"]
    # Asking for the current state again records nothing.
    post_json(client, "/api/v1/me/consents", {"offers": True}, headers=headers, method="PUT")
    assert len(consent.history(member.member_id)) == 4
    assert consent.verify_chain(member.member_id) == []


def test_twenty_concurrent_consent_flips_keep_state_and_history_consistent(client, mailbox):
    email, _ = verified_member(client, mailbox)
    member_id = member_by_email(email).member_id
    barrier = threading.Barrier(20)

    def flip(i):
        barrier.wait()
        consent.change(member_id, {"offers": i % 2 == 0, "partner_promotions": i % 3 == 0},
                       Provenance("preference_center", "/test"))

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = consent.history(member_id)
    assert [int(e.seq) for e in events] == list(range(1, len(events) + 1))
    member = Member.get(member_id, consistent_read=True)
    for purpose in consent.PURPOSES:
        last = [e for e in events if e.purpose == purpose][-1]
        assert getattr(member.consents, purpose).granted == last.granted
    # Consecutive events of a purpose always change it (no duplicate grants or withdrawals).
    for purpose in consent.PURPOSES:
        values = [e.granted for e in events if e.purpose == purpose]
        assert all(a != b for a, b in zip(values, values[1:]))
    assert consent.verify_chain(member_id) == []


def test_the_chain_check_detects_an_edited_event(client, mailbox):
    email, headers = verified_member(client, mailbox)
    member_id = member_by_email(email).member_id
    event = list(ConsentEvent.query(member_id))[0]
    event.update(actions=[ConsentEvent.granted.set(not event.granted)])
    problems = consent.verify_chain(member_id)
    assert any("does not match the chain" in p for p in problems)
    event.update(actions=[ConsentEvent.granted.set(not event.granted)])
    assert consent.verify_chain(member_id) == []


def test_audience_indexes_hold_only_verified_consenting_members(client, mailbox):
    email = new_email()
    register(client, email, offers=True, partner_promotions=False)
    member = member_by_email(email)
    assert member.aud_offers is None  # not verified yet: nobody may mail it
    post_json(client, "/api/v1/members/verify",
              {"token": token_from(mailbox.wait_for(email)[0], "/verify"), "password": PASSWORD})
    member = member_by_email(email)
    assert member.aud_offers is not None and member.aud_partner_promotions is None
    shard = member.aud_offers
    ids = [m.member_id for m in Member.offers_audience.query(shard)]
    assert member.member_id in ids
    consent.change(member.member_id, {"offers": False}, Provenance("preference_center"))
    assert member.member_id not in [m.member_id for m in Member.offers_audience.query(shard)]


def test_password_reset_is_single_use_and_ends_every_session(client, mailbox):
    email, headers = verified_member(client, mailbox)
    other_session = login(client, email)
    assert post_json(client, "/api/v1/password-reset", {"email": email}).status_code == 202
    mail = [m for m in mailbox.wait_for(email, count=2) if "Reset" in m["subject"]][-1]
    token = token_from(mail, "/reset-password")
    too_short = post_json(client, "/api/v1/password-reset/confirm", {"token": token, "password": "short"})
    assert too_short.status_code == 400 and too_short.json_body["error"]["code"] == "weak_password"
    done = post_json(client, "/api/v1/password-reset/confirm",
                     {"token": token, "password": "a brand new password"})
    assert done.status_code == 204
    for old in (headers, other_session):
        assert client.http.get("/api/v1/me", headers=old).status_code == 401
    again = post_json(client, "/api/v1/password-reset/confirm",
                      {"token": token, "password": "yet another password"})
    assert again.status_code == 400
    login(client, email, "a brand new password")
    assert post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}).status_code == 401
    assert any(m["subject"] == "Your eSmallOffice password was changed" for m in mailbox.to(email))


def test_password_reset_answers_the_same_for_unknown_addresses(client, mailbox):
    unknown = new_email()
    for body in ({"email": unknown}, {"email": "not-an-address"}):
        response = post_json(client, "/api/v1/password-reset", body)
        assert response.status_code == 202
    assert mailbox.to(unknown) == []


def test_an_expired_reset_token_is_refused(client, mailbox):
    email, _ = verified_member(client, mailbox)
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    members.request_password_reset(email, now=past)
    mail = [m for m in mailbox.wait_for(email, count=2) if "Reset" in m["subject"]][-1]
    response = post_json(client, "/api/v1/password-reset/confirm",
                         {"token": token_from(mail, "/reset-password"), "password": "fresh password 1"})
    assert response.status_code == 400 and response.json_body["error"]["code"] == "invalid_token"


def test_export_holds_everything_and_deletion_erases_it(client, mailbox):
    email, headers = verified_member(client, mailbox)
    member_id = member_by_email(email).member_id
    export = client.http.get("/api/v1/me/export", headers=headers)
    assert export.status_code == 200
    data = export.json_body
    assert data["member"]["email"] == email
    assert len(data["consent_history"]) == 2
    assert len(data["sessions"]) == 1 and data["sessions"][0]["created_at"]
    assert {"referral_clicks", "partner_transactions", "partner_contacts"} <= set(data)
    assert "password_hash" not in export.body.decode() and "session_hash" not in export.body.decode()

    # A password-reset link still unused at erasure: its token must go with the account.
    post_json(client, "/api/v1/password-reset", {"email": email})
    reset_mail = [m for m in mailbox.wait_for(email, count=2) if "Reset" in m["subject"]][-1]
    reset_token = token_from(reset_mail, "/reset-password")
    assert Token.get(sha256_hex(reset_token)).member_id == member_id
    assert list(Token.by_member.query(member_id)) != []

    wrong = post_json(client, "/api/v1/me", {"password": "not my password"}, headers=headers,
                      method="DELETE")
    assert wrong.status_code == 403
    sent_before = len(mailbox.to(email))
    gone = post_json(client, "/api/v1/me", {"password": PASSWORD}, headers=headers, method="DELETE")
    assert gone.status_code == 204
    with pytest.raises(Member.DoesNotExist):
        Member.get(member_id)
    with pytest.raises(EmailClaim.DoesNotExist):
        EmailClaim.get(email)
    assert list(ConsentEvent.query(member_id)) == []
    assert list(Session.by_member.query(member_id)) == []
    assert list(Token.by_member.query(member_id)) == []
    with pytest.raises(Token.DoesNotExist):
        Token.get(sha256_hex(reset_token))
    used = post_json(client, "/api/v1/password-reset/confirm",
                     {"token": reset_token, "password": "fresh password 1"})
    assert used.status_code == 400 and used.json_body["error"]["code"] == "invalid_token"
    assert client.http.get("/api/v1/me", headers=headers).status_code == 401
    # No e-mail to the address afterwards, whatever is asked.
    post_json(client, "/api/v1/password-reset", {"email": email})
    assert post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}).status_code == 401
    assert len(mailbox.to(email)) == sent_before


def test_offers_are_for_members_only(client, mailbox):
    assert client.http.get("/api/v1/offers").status_code == 401
    _, headers = verified_member(client, mailbox)
    offers = client.http.get("/api/v1/offers", headers=headers)
    assert offers.status_code == 200 and len(offers.json_body["offers"]) >= 1


def test_state_changes_from_another_origin_are_refused(client, mailbox):
    _, headers = verified_member(client, mailbox, offers=True)
    for origin in ("https://evil.example", "null"):
        response = post_json(client, "/api/v1/me/consents", {"offers": False},
                             headers={**headers, "Origin": origin}, method="PUT")
        assert response.status_code == 403 and response.json_body["error"]["code"] == "csrf"
    me = client.http.get("/api/v1/me", headers=headers).json_body["member"]
    assert me["consents"]["offers"]["granted"] is True


def test_global_privacy_control_defaults_partner_promotions_off(client, mailbox):
    email = new_email()
    response = post_json(client, "/api/v1/members", {
        "email": email, "password": PASSWORD, "consents": {"offers": True}}, {"Sec-GPC": "1"})
    assert response.status_code == 202
    assert consent.is_granted(member_by_email(email), "partner_promotions") is False
    without = post_json(client, "/api/v1/members", {
        "email": new_email(), "password": PASSWORD, "consents": {"offers": True}})
    assert without.status_code == 400


def test_contact_messages_reach_the_operator_and_are_rate_limited(client, mailbox):
    body = {"email": "asker@example.org", "topic": "privacy", "message": "What do you keep?"}
    assert post_json(client, "/api/v1/contact", body).status_code == 202
    mail = mailbox.wait_for("privacy@esmalloffice.example")[-1]
    assert mail["subject"] == "[eSO contact] privacy question"
    assert mail["replyTo"] == ["asker@example.org"] or "asker@example.org" in str(mail["replyTo"])
    assert "What do you keep?" in mail["body"]["text"]
    codes = [post_json(client, "/api/v1/contact", body).status_code for _ in range(5)]
    assert codes[-1] == 429
