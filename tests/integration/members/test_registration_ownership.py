"""Only the mailbox owner decides which account an address gets: each case of the registration
threat model (docs/threat-model-registration.md), against DynamoDB Local and the SES server."""
import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import members
from chalicelib.members import consent, passwords
from chalicelib.members.consent import Provenance
from chalicelib.members.models import EmailClaim, Member, Token
from chalicelib.platform.crypto import sha256_hex
from tests.integration.helpers import (
    PASSWORD,
    login,
    new_email,
    post_json,
    register,
    token_from,
    verified_member,
)

pytestmark = pytest.mark.usefixtures("stack")

OWNER = "owner password 12345"
STRANGER = "stranger password 678"
CONFIRM_SUBJECT = "Confirm your e-mail address for eSmallOffice"


def confirm(client, mail, password):
    return post_json(client, "/api/v1/members/verify",
                     {"token": token_from(mail, "/verify"), "password": password})


def login_status(client, email, password):
    return post_json(client, "/api/v1/session", {"email": email, "password": password}).status_code


def member_of(email) -> Member:
    return Member.get(EmailClaim.get(email).member_id, consistent_read=True)


def live_links(email) -> list:
    """Verification tokens of the address that would confirm it now."""
    member = member_of(email)
    tokens = [Token.get(t.token_hash, consistent_read=True)
              for t in Token.by_member.query(member.member_id)]
    return [t for t in tokens if t.purpose == members.VERIFY_EMAIL and not member.email_verified
            and t.token_hash == member.verify_token_hash]


def register_at(email, password, when, display_name=None, **consents):
    members.register(members.Registration(
        email=email, password=password, display_name=display_name,
        consents={"offers": consents.get("offers", True),
                  "partner_promotions": consents.get("partner_promotions", True)}),
        Provenance("registration", "/test"), now=when)


def test_a_stranger_registering_again_cannot_take_the_account(client, mailbox):
    """The reported takeover: the owner registered, a stranger registers the address again."""
    email = new_email("takeover")
    assert register(client, email, password=OWNER).status_code == 202
    assert register(client, email, password=STRANGER).status_code == 202
    time.sleep(0.5)
    mails = mailbox.to(email)
    assert len(mails) == 1  # the stranger's registration mails nothing new so soon
    # The link with the stranger's password does not confirm; the owner's own password does.
    wrong = confirm(client, mails[0], STRANGER + "x")
    assert wrong.status_code == 401 and wrong.json_body["error"]["code"] == "invalid_credentials"
    assert confirm(client, mails[0], OWNER).status_code == 200
    assert login_status(client, email, STRANGER) == 401
    assert login_status(client, email, OWNER) == 200


def test_a_later_link_still_needs_the_owners_password(client, mailbox):
    email = new_email("takeover-later")
    start = datetime.now(timezone.utc)
    register_at(email, OWNER, start)
    register_at(email, STRANGER, start + members.RESEND_AFTER + timedelta(seconds=1))
    first, newest = mailbox.wait_for(email, count=2)
    assert [first["subject"], newest["subject"]] == [CONFIRM_SUBJECT] * 2
    older = confirm(client, first, OWNER)
    assert older.status_code == 400 and "newer link" in older.json_body["error"]["message"]
    # Whoever clicks the newest link names the registration by its password: the owner's.
    assert confirm(client, newest, OWNER).status_code == 200
    assert login_status(client, email, STRANGER) == 401
    assert login_status(client, email, OWNER) == 200


def test_registering_someone_elses_address_first_does_not_keep_the_account(client, mailbox):
    """Pre-hijacking: the stranger registers first; the owner registers and confirms."""
    email = new_email("prehijack")
    assert register(client, email, password=STRANGER, offers=True,
                    partner_promotions=True).status_code == 202
    owner = post_json(client, "/api/v1/members", {
        "email": email, "password": OWNER, "display_name": "Real Owner",
        "consents": {"offers": False, "partner_promotions": False}})
    assert owner.status_code == 202
    link = mailbox.wait_for(email)[0]
    assert confirm(client, link, OWNER).status_code == 200
    assert login_status(client, email, STRANGER) == 401
    assert login_status(client, email, OWNER) == 200
    member = member_of(email)
    # The confirmed registration's own choices stand, recorded in the consent history.
    assert member.display_name == "Real Owner"
    assert not consent.is_granted(member, "offers")
    assert not consent.is_granted(member, "partner_promotions")
    assert member.aud_offers is None and member.aud_partner_promotions is None
    history = consent.history(member.member_id)
    assert [(e.purpose, e.granted, e.source) for e in history][-2:] == [
        ("offers", False, "registration"), ("partner_promotions", False, "registration")]
    assert consent.verify_chain(member.member_id) == []


def test_opening_the_link_changes_nothing_and_the_password_is_required(client, mailbox):
    """Link scanners and forwarded mail: a GET or a bare POST confirms nothing."""
    email = new_email("scanner")
    register(client, email, password=OWNER)
    mail = mailbox.wait_for(email)[0]
    token = token_from(mail, "/verify")
    assert client.http.get(f"/verify?token={token}").status_code == 200
    bare = post_json(client, "/api/v1/members/verify", {"token": token})
    assert bare.status_code == 400
    assert bare.json_body["error"] == {
        "code": "password_required", "field": "password",
        "message": bare.json_body["error"]["message"]}
    assert member_of(email).email_verified is False
    assert confirm(client, mail, OWNER).status_code == 200  # the link stayed usable


def test_wrong_passwords_on_a_link_are_throttled_like_logins(client, mailbox):
    email = new_email("guess")
    register(client, email, password=OWNER)
    mail = mailbox.wait_for(email)[0]
    codes = [confirm(client, mail, f"guess number {i:04}").status_code for i in range(6)]
    assert codes == [401] * members.LOGIN_FAILURES_ALLOWED + [429]
    assert member_of(email).email_verified is False


def test_mail_delivered_late_or_twice(client, mailbox):
    email = new_email("late")
    start = datetime.now(timezone.utc)
    register_at(email, OWNER, start)
    register_at(email, OWNER, start + members.RESEND_AFTER + timedelta(seconds=1))
    first, second = mailbox.wait_for(email, count=2)
    assert confirm(client, second, OWNER).status_code == 200
    twice = confirm(client, second, OWNER)
    assert twice.status_code == 400 and twice.json_body["error"]["code"] == "invalid_token"
    late = confirm(client, first, OWNER)
    assert late.status_code == 400 and "already confirmed" in late.json_body["error"]["message"]


def test_twenty_parallel_registrations_of_a_new_address_mail_one_live_link(client, mailbox):
    email = new_email("burst")
    barrier = threading.Barrier(20)
    errors = []

    def attempt(i):
        barrier.wait()
        try:
            members.register(members.Registration(
                email=email, password=f"racing password {i:03}",
                consents={"offers": True, "partner_promotions": False}),
                Provenance("registration", "/test"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    time.sleep(0.5)
    mails = mailbox.to(email)
    assert len(mails) == 1 and len(live_links(email)) == 1
    member = member_of(email)
    assert len(member.pending_registrations) == members.MAX_REGISTRATIONS
    assert consent.history(member.member_id) == []  # nothing is consented before confirmation
    # The one link confirms with the password of a kept registration: the newest is one.
    newest = [f"racing password {i:03}" for i in range(20)
              if passwords.verify_password(member.password_hash, f"racing password {i:03}")]
    assert len(newest) == 1
    assert confirm(client, mails[0], newest[0]).status_code == 200


def test_twenty_parallel_reregistrations_hand_nothing_to_anyone(client, mailbox):
    email = new_email("siege")
    start = datetime.now(timezone.utc)
    register_at(email, OWNER, start - members.RESEND_AFTER - timedelta(seconds=1))
    owners_link = mailbox.wait_for(email)[0]
    barrier = threading.Barrier(20)

    def attempt(i):
        barrier.wait()
        register_at(email, f"stranger password {i:03}", start)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    mails = mailbox.to(email)
    assert len(mails) == 2  # the owner's, and at most one replacement
    assert len(live_links(email)) == 1
    member = member_of(email)
    assert member.email_verified is False
    # No stranger can log in, and the owner's own password confirms from the newest mail.
    for i in (0, 7, 19):  # "not confirmed" at most: never a session
        assert login_status(client, email, f"stranger password {i:03}") in (401, 403, 429)
    assert confirm(client, owners_link, OWNER).status_code == 400  # replaced by the newest
    assert confirm(client, mails[-1], OWNER).status_code == 200
    assert passwords.verify_password(member_of(email).password_hash, OWNER)


def test_strangers_cannot_push_the_first_registration_out(client, mailbox):
    email = new_email("pushout")
    start = datetime.now(timezone.utc)
    register_at(email, OWNER, start, display_name="Owner")
    for i in range(members.MAX_REGISTRATIONS + 5):
        register_at(email, f"filler password {i:03}", start)
    member = member_of(email)
    assert len(member.pending_registrations) == members.MAX_REGISTRATIONS
    assert confirm(client, mailbox.wait_for(email)[0], OWNER).status_code == 200
    assert member_of(email).display_name == "Owner"


def test_strangers_who_fill_the_registrations_first_cannot_keep_the_owner_out(client, mailbox):
    """The owner's registration, however late, is kept: the oldest but the first gives way."""
    email = new_email("prefill")
    start = datetime.now(timezone.utc)
    for i in range(members.MAX_REGISTRATIONS + 2):
        register_at(email, f"filler password {i:03}", start)
    register_at(email, OWNER, start, display_name="Owner", offers=False, partner_promotions=False)
    assert confirm(client, mailbox.wait_for(email)[0], OWNER).status_code == 200
    member = member_of(email)
    assert member.display_name == "Owner" and not consent.is_granted(member, "offers")


def test_logging_in_with_ones_own_registration_tells_nothing_about_the_address(client, mailbox):
    """Register, then log in with that password: "not confirmed yet" whether the address was
    new, registered but unconfirmed, or a confirmed account."""
    fresh, unconfirmed = new_email("oracle-new"), new_email("oracle-unconfirmed")
    register(client, unconfirmed, password=OWNER)
    confirmed, _ = verified_member(client, mailbox)
    answers = {}
    for email in (fresh, unconfirmed, confirmed):
        assert register(client, email, password=STRANGER).status_code == 202
        answers[email] = post_json(client, "/api/v1/session",
                                   {"email": email, "password": STRANGER}).json_body
    assert len({json.dumps(a, sort_keys=True) for a in answers.values()}) == 1
    assert answers[fresh]["error"]["code"] == "email_not_verified"
    login(client, confirmed)  # the owner's own password still works


def test_a_password_reset_confirms_the_address_and_drops_every_registration(client, mailbox):
    """The way out for an owner who does not know any registration's password."""
    email = new_email("reset-unconfirmed")
    register(client, email, password=STRANGER)
    link = mailbox.wait_for(email)[0]
    assert post_json(client, "/api/v1/password-reset", {"email": email}).status_code == 202
    reset = mailbox.wait_for(email, count=2)[-1]
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(reset, "/reset-password"), "password": OWNER}).status_code == 204
    member = member_of(email)
    assert member.email_verified is True
    assert member.verify_token_hash is None and not member.pending_registrations
    # Nothing a registrant chose survives: no name, no consent; the member chooses anew.
    assert member.display_name is None and consent.history(member.member_id) == []
    assert confirm(client, link, STRANGER).status_code == 400
    assert login_status(client, email, STRANGER) == 401
    assert login_status(client, email, OWNER) == 200


def test_only_a_hash_of_the_link_is_stored(client, mailbox):
    email = new_email("hash")
    register(client, email, password=OWNER)
    token = token_from(mailbox.wait_for(email)[0], "/verify")
    assert member_of(email).verify_token_hash == sha256_hex(token)


def test_failures_from_one_network_do_not_lock_out_another(client, mailbox):
    from chalicelib.platform.errors import AuthenticationError, RateLimitedError

    email, _ = verified_member(client, mailbox)
    outcomes = []
    for i in range(8):  # a stranger failing on purpose, from one network
        try:
            members.login(email, f"wrong guess {i:04}", source="203.0.113.7")
        except (AuthenticationError, RateLimitedError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes == ["AuthenticationError"] * 5 + ["RateLimitedError"] * 3
    member = members.login(email, PASSWORD, source="198.51.100.20").member
    assert member.email == email


def test_a_burst_of_correct_confirmations_locks_nobody_out(client, mailbox):
    email = new_email("burst-confirm")
    register(client, email, password=OWNER)
    token = token_from(mailbox.wait_for(email)[0], "/verify")
    barrier = threading.Barrier(10)
    codes = []

    def confirm_once():
        barrier.wait()
        codes.append(post_json(client, "/api/v1/members/verify",
                               {"token": token, "password": OWNER}).status_code)

    threads = [threading.Thread(target=confirm_once) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(200) == 1 and 500 not in codes
    assert login_status(client, email, OWNER) == 200


def test_the_owners_reset_ends_a_strangers_lockout_of_their_network(client, mailbox):
    from chalicelib.platform.errors import AuthenticationError, RateLimitedError

    email, _ = verified_member(client, mailbox)
    for i in range(6):
        with pytest.raises((AuthenticationError, RateLimitedError)):
            members.login(email, f"wrong guess {i:04}", source="203.0.113.9")
    with pytest.raises(RateLimitedError):
        members.login(email, PASSWORD, source="203.0.113.9")
    members.request_password_reset(email)
    reset = token_from(mailbox.wait_for(email, count=2)[-1], "/reset-password")
    members.confirm_password_reset(reset, OWNER, source="203.0.113.9")
    member = members.login(email, OWNER, source="203.0.113.9").member
    assert member.email == email
