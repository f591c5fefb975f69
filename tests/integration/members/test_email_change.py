"""A member changes their e-mail address; the old address can undo a change it did not make."""
import threading

import pytest

from chalicelib.members import email_change
from chalicelib.members.models import EmailClaim, Member
from tests.integration.helpers import (
    PASSWORD,
    login,
    new_email,
    post_json,
    token_from,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")


def ask(client, headers, new, password=PASSWORD):
    return post_json(client, "/api/v1/me/email", {"new_email": new, "password": password},
                     headers)


def me(client, headers):
    return client.http.get("/api/v1/me", headers=headers)


def mail_with(mailbox, address, path, count=1):
    found = [m for m in mailbox.wait_for(address, count=count) if path in m["body"]["text"]]
    assert found, f"no {path} mail to {address}"
    return found[-1]


def test_a_member_changes_their_address_end_to_end(client, mailbox):
    old, headers = verified_member(client, mailbox)
    new = new_email("moved")
    asked = ask(client, headers, new)
    assert asked.status_code == 202 and asked.json_body == {"status": "confirmation_sent"}

    # Until the new address confirms, the old one stays.
    assert me(client, headers).json_body["member"]["email"] == old
    warning = mail_with(mailbox, old, "/email/undo", count=2)
    assert "about to change" in warning["subject"] and new not in warning["body"]["text"]
    token = token_from(mail_with(mailbox, new, "/email/confirm"), "/email/confirm")

    # A link scanner opening the page changes nothing; the confirmation is a POST.
    assert client.http.get(f"/email/confirm?token={token}").status_code == 200
    assert me(client, headers).json_body["member"]["email"] == old

    done = post_json(client, "/api/v1/me/email/confirm", {"token": token})
    assert done.status_code == 200 and done.json_body == {"status": "email_changed"}
    assert me(client, headers).json_body["member"]["email"] == new  # this session continues
    assert EmailClaim.get(new).member_id == EmailClaim.get(new).member_id
    with pytest.raises(EmailClaim.DoesNotExist):
        EmailClaim.get(old)
    login(client, new)
    assert post_json(client, "/api/v1/session",
                     {"email": old, "password": PASSWORD}).status_code == 401
    told = mail_with(mailbox, old, "/email/undo", count=3)
    assert "was changed" in told["subject"]
    history = client.http.get("/api/v1/me/consents/history", headers=headers).json_body["events"]
    assert {e["source"] for e in history[-2:]} == {"email_change"}

    again = post_json(client, "/api/v1/me/email/confirm", {"token": token})
    assert again.status_code == 400  # single use


def test_undo_gives_the_account_back_to_the_old_address(client, mailbox):
    """The attacker-changed-my-address case: a stolen session moved the account away."""
    old, owner = verified_member(client, mailbox)
    attacker = login(client, old)
    new = new_email("attacker")
    assert ask(client, attacker, new).status_code == 202
    token = token_from(mail_with(mailbox, new, "/email/confirm"), "/email/confirm")
    assert post_json(client, "/api/v1/me/email/confirm", {"token": token}).status_code == 200
    undo = token_from(mail_with(mailbox, old, "/email/undo", count=3), "/email/undo")

    exported = client.http.get("/api/v1/me/export", headers=owner).json_body["email_changes"]
    assert {(c["kind"], c["address"]) for c in exported} == {("old_address_can_undo", old)}
    assert client.http.get(f"/email/undo?token={undo}").status_code == 200  # changes nothing
    assert me(client, owner).json_body["member"]["email"] == new
    restored = post_json(client, "/api/v1/me/email/undo", {"token": undo})
    assert restored.status_code == 200 and restored.json_body == {"status": "email_restored"}

    claim = EmailClaim.get(old)
    assert Member.get(claim.member_id).email == old
    with pytest.raises(EmailClaim.DoesNotExist):
        EmailClaim.get(new)
    for headers in (owner, attacker):  # every session ended
        assert me(client, headers).status_code == 401
    reset = mail_with(mailbox, old, "/reset-password", count=4)
    reset_token = token_from(reset, "/reset-password")
    assert post_json(client, "/api/v1/password-reset/confirm",
                     {"token": reset_token, "password": "my account is mine again"}
                     ).status_code == 204
    login(client, old, "my account is mine again")
    # The undo link is single use.
    assert post_json(client, "/api/v1/me/email/undo", {"token": undo}).status_code == 400


def test_undo_before_confirmation_cancels_the_pending_change(client, mailbox):
    old, headers = verified_member(client, mailbox)
    new = new_email("pending")
    assert ask(client, headers, new).status_code == 202
    exported = client.http.get("/api/v1/me/export", headers=headers).json_body["email_changes"]
    assert {(c["kind"], c["address"]) for c in exported} == {
        ("new_address_to_confirm", new), ("old_address_can_undo", old)}
    confirm = token_from(mail_with(mailbox, new, "/email/confirm"), "/email/confirm")
    undo = token_from(mail_with(mailbox, old, "/email/undo", count=2), "/email/undo")
    assert post_json(client, "/api/v1/me/email/undo", {"token": undo}).status_code == 200
    assert me(client, headers).status_code == 401
    assert post_json(client, "/api/v1/me/email/confirm", {"token": confirm}).status_code == 400
    assert Member.get(EmailClaim.get(old).member_id).email == old


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_notice(client, mailbox):
    _, headers = verified_member(client, mailbox)
    taken, _ = verified_member(client, mailbox)
    before = len(mailbox.to(taken))
    asked = ask(client, headers, taken)
    assert asked.status_code == 202 and asked.json_body == {"status": "confirmation_sent"}
    notices = mailbox.wait_for(taken, count=before + 1)[before:]
    assert len(notices) == 1 and "/email/confirm" not in notices[0]["body"]["text"]
    # The requester's export lists the change as it would for a free address.
    exported = client.http.get("/api/v1/me/export", headers=headers).json_body["email_changes"]
    assert {c["kind"] for c in exported} == {"new_address_to_confirm", "old_address_can_undo"}
    assert {c["address"] for c in exported if c["kind"] == "new_address_to_confirm"} == {taken}


@pytest.mark.parametrize("body, status, field", [
    ({"new_email": "x@example.org", "password": "wrong password here"}, 401, "password"),
    ({"new_email": "not an address", "password": PASSWORD}, 400, "new_email"),
    ({"new_email": "x@example.org"}, 400, None),
])
def test_bad_requests_change_nothing(client, mailbox, body, status, field):
    email, headers = verified_member(client, mailbox)
    before = len(mailbox.to(email))
    answer = post_json(client, "/api/v1/me/email", body, headers)
    assert answer.status_code == status
    if field:
        assert answer.json_body["error"]["field"] == field
    assert len(mailbox.to(email)) == before
    assert me(client, headers).json_body["member"]["email"] == email


def test_the_same_address_is_refused(client, mailbox):
    email, headers = verified_member(client, mailbox)
    same = ask(client, headers, email.upper())
    assert same.status_code == 400 and same.json_body["error"]["code"] == "same_email"


def test_twenty_members_racing_for_one_new_address_leave_exactly_one_holding_it(client,
                                                                                 mailbox):
    """Real concurrency against DynamoDB Local: 20 confirmations of one address at once."""
    from datetime import datetime, timedelta, timezone

    from chalicelib.members.models import EmailClaim as Claim

    wanted = new_email("contested")
    links = []
    start = datetime.now(timezone.utc) - timedelta(hours=23)
    for i in range(20):
        email, _ = verified_member(client, mailbox)
        # An address is sent at most 3 messages an hour: the 20 requests are an hour apart.
        email_change.request_change(Claim.get(email).member_id, wanted, PASSWORD,
                                    now=start + timedelta(hours=i))
    for mail in mailbox.wait_for(wanted, count=20):
        links.append(token_from(mail, "/email/confirm"))
    assert len(links) == 20
    barrier = threading.Barrier(20)
    outcomes, failures = [], []

    def confirm(token):
        barrier.wait()
        try:
            email_change.confirm_change(token)
            outcomes.append("changed")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", None))
            if getattr(exc, "code", None) != "email_taken":
                failures.append(repr(exc))

    threads = [threading.Thread(target=confirm, args=(t,)) for t in links]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert outcomes.count("changed") == 1, outcomes
    assert set(outcomes) <= {"changed", "email_taken"}, outcomes
    holder = EmailClaim.get(wanted, consistent_read=True).member_id
    assert Member.get(holder).email == wanted
    assert sum(1 for m in Member.scan(Member.email == wanted)) == 1


def _move_away(client, mailbox, headers, old):
    """An attacker with the password and a session moves the account to an address of theirs."""
    taken_to = new_email("attacker-box")
    assert ask(client, headers, taken_to).status_code == 202
    confirm = token_from(mail_with(mailbox, taken_to, "/email/confirm"), "/email/confirm")
    assert post_json(client, "/api/v1/me/email/confirm", {"token": confirm}).status_code == 200
    undo = token_from([m for m in mailbox.to(old) if "/email/undo" in m["body"]["text"]][-1],
                      "/email/undo")
    return taken_to, undo


def test_a_reset_from_the_new_address_does_not_kill_the_owners_undo_link(client, mailbox):
    old, headers = verified_member(client, mailbox)
    taken_to, undo = _move_away(client, mailbox, headers, old)
    post_json(client, "/api/v1/password-reset", {"email": taken_to})
    reset = token_from([m for m in mailbox.wait_for(taken_to, count=2)
                        if "/reset-password" in m["body"]["text"]][-1], "/reset-password")
    assert post_json(client, "/api/v1/password-reset/confirm",
                     {"token": reset, "password": "attacker owns it now 1"}).status_code == 204
    assert post_json(client, "/api/v1/me/email/undo", {"token": undo}).status_code == 200
    # The attacker's password no longer works; the owner chooses a new one from the old box.
    assert post_json(client, "/api/v1/session", {"email": old, "password":
                                                 "attacker owns it now 1"}).status_code == 401
    reset = token_from([m for m in mailbox.to(old) if "/reset-password" in m["body"]["text"]][-1],
                       "/reset-password")
    assert post_json(client, "/api/v1/password-reset/confirm",
                     {"token": reset, "password": "owner is back again 7"}).status_code == 204
    login(client, old, "owner is back again 7")


def test_undo_takes_the_address_back_from_an_unconfirmed_registration(client, mailbox):
    old, headers = verified_member(client, mailbox)
    _, undo = _move_away(client, mailbox, headers, old)
    # Someone registers the freed address (without its mailbox they cannot confirm it).
    assert post_json(client, "/api/v1/members", {
        "email": old, "password": "squatter password 99",
        "consents": {"offers": True, "partner_promotions": True}}).status_code == 202
    restored = post_json(client, "/api/v1/me/email/undo", {"token": undo})
    assert restored.status_code == 200
    assert Member.get(EmailClaim.get(old).member_id).email_verified is True
    assert me(client, headers).status_code == 401


def test_after_undo_the_password_that_moved_the_account_no_longer_signs_in(client, mailbox):
    old, headers = verified_member(client, mailbox)
    _, undo = _move_away(client, mailbox, headers, old)
    assert post_json(client, "/api/v1/me/email/undo", {"token": undo}).status_code == 200
    assert post_json(client, "/api/v1/session",
                     {"email": old, "password": PASSWORD}).status_code == 401


def test_a_password_change_cancels_a_pending_address_change(client, mailbox):
    old, headers = verified_member(client, mailbox)
    new = new_email("pending-then-password")
    assert ask(client, headers, new).status_code == 202
    confirm = token_from(mail_with(mailbox, new, "/email/confirm"), "/email/confirm")
    changed = post_json(client, "/api/v1/me/password", {
        "current_password": PASSWORD, "new_password": "lantern orchard quietly 42"},
        headers, method="PUT")
    assert changed.status_code == 204
    assert post_json(client, "/api/v1/me/email/confirm", {"token": confirm}).status_code == 400
    assert Member.get(EmailClaim.get(old).member_id).email == old


def test_the_old_address_is_told_whether_or_not_the_new_one_is_taken(client, mailbox):
    old, headers = verified_member(client, mailbox)
    taken, _ = verified_member(client, mailbox)
    before = len(mailbox.to(old))
    assert ask(client, headers, taken).status_code == 202
    told = mailbox.wait_for(old, count=before + 1)[before:]
    assert len(told) == 1 and "/email/undo" in told[0]["body"]["text"]


def test_deleting_the_account_cannot_be_used_to_guess_the_password(client, mailbox):
    _, headers = verified_member(client, mailbox)
    answers = [post_json(client, "/api/v1/me", {"password": f"guess number {i}"}, headers,
                         method="DELETE").status_code for i in range(7)]
    assert answers[:5] == [403] * 5 and answers[5:] == [429, 429]
    assert me(client, headers).status_code == 200


def test_a_long_passphrase_is_accepted(client, mailbox):
    from tests.integration.helpers import register

    email = new_email("long")
    phrase = "the quick brown office printer jumps over ninety lazy staplers " * 3
    assert len(phrase) > 72
    assert register(client, email, password=phrase[:256]).status_code == 202
