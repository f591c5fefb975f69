"""Member support in the console (/admin/members) through the in-process app, DynamoDB Local and
the local SES server: a member is found by the exact address only (POSTed, never in a URL),
lookups are throttled per operator and audited with the member's id, never the address; a
member's page opens only for the operator who looked the member up; resending the
confirmation, ending every session, suppressing and erasing do what they say, the last two
behind the second factor (erasing also behind the typed address), and each is in the audit log
and, for suppression and erasure, in the member's consent history."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from app import app
from chalicelib import members, operators
from chalicelib.members import consent
from chalicelib.platform import clock
from chalicelib.statistics import counters
from tests.integration.console_helpers import actions_about, audit_about, location_id, posts_under
from tests.integration.helpers import (
    PASSWORD,
    login,
    new_email,
    post_json,
    register,
    token_from,
    verified_member,
)
from tests.integration.operator_helpers import Browser, code_now, set_up_with_totp

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def fake_clock():
    with clock.use(clock.FakeClock(datetime.now(timezone.utc).replace(microsecond=0))) as fake:
        yield fake


@pytest.fixture
def operator(client, fake_clock):
    return set_up_with_totp(client)


def look_up(browser: Browser, address: str):
    return browser.form("/admin/members", {"email": address})


def member_page(browser: Browser, address: str) -> str:
    """The path of the member's page, found by a lookup."""
    view = location_id(look_up(browser, address), "/admin/members/")
    return f"/admin/members/{view}"


def member_id_of(address: str) -> str:
    return members.support.find_by_email(address).member_id


def test_a_member_is_found_by_the_exact_address_only(client, mailbox, operator):
    browser = operator["browser"]
    email, _ = verified_member(client, mailbox, offers=True, partner_promotions=False)
    member_id = member_id_of(email)
    found = look_up(browser, email.upper())  # an address is the same in any case
    assert found.status_code == 303 and member_id in found.headers["Location"]
    assert email not in found.headers["Location"]
    page = browser.get(found.headers["Location"]).body.decode()
    assert email in page and "Confirmed on" in page
    assert "You chose eSO offers when you signed up." in page  # the words /account uses
    assert "You did not choose partner promotions when you signed up." in page
    assert "preference_center" not in page and "registration</" not in page

    local, domain = email.split("@")
    for part in (local, local[:-3] + "@" + domain, email[:-1], "@" + domain, email[1:]):
        missed = look_up(browser, part)
        assert missed.status_code in (400, 404), part
        assert "Location" not in missed.headers and member_id not in missed.body.decode()
    lookups = [e for e in audit_about(member_id) if e["action"] == "member_looked_up"]
    assert len(lookups) == 1 and lookups[0]["detail"] == {"status": "found"}
    misses = [e for e in _todays_audit() if e["action"] == "member_looked_up"
              and e["actor"] == operator["operator_id"] and e["target"] is None]
    assert {e["detail"]["status"] for e in misses} == {"not_found"}
    assert email not in str(_todays_audit()) and local not in str(_todays_audit())


def _todays_audit() -> list:
    return operators.audit.entries_of_day(clock.now().date())


def test_lookups_are_throttled_per_operator(client, mailbox, operator, monkeypatch):
    monkeypatch.setattr(operators.support, "LOOKUPS_PER_HOUR", 3)
    email, _ = verified_member(client, mailbox)
    browser = operator["browser"]
    answers = [look_up(browser, new_email("nobody")).status_code for _ in range(3)]
    assert answers == [404, 404, 404]
    refused = look_up(browser, email)
    assert refused.status_code == 429 and refused.headers.get("Retry-After")
    assert member_id_of(email) not in refused.body.decode()
    other = set_up_with_totp(client)  # another operator has an allowance of their own
    assert look_up(other["browser"], email).status_code == 303


def test_a_members_page_opens_only_for_the_operator_who_looked_up(client, mailbox, operator,
                                                                  fake_clock):
    email, _ = verified_member(client, mailbox)
    path = member_page(operator["browser"], email)
    assert operator["browser"].get(path).status_code == 200
    colleague = set_up_with_totp(client)
    assert colleague["browser"].get(path).headers["Location"] == "/admin/members?done=expired"
    member_id = member_id_of(email)
    forged = f"/admin/members/{member_id}.{int(clock.now().timestamp()) + 600}.not-a-signature"
    assert operator["browser"].get(forged).status_code == 303
    for odd in (f"{member_id}.{int(clock.now().timestamp()) + 600}.é", f"{member_id}.²³.abc"):
        assert operator["browser"].get(f"/admin/members/{odd}").status_code == 303
    for _ in range(2):  # in use, so still signed in ...
        fake_clock.advance(14 * 60)
        assert operator["browser"].get("/admin").status_code == 200
    fake_clock.advance(2 * 60 - 1)
    assert operator["browser"].get(path).status_code == 200
    fake_clock.advance(2)
    assert operator["browser"].get(path).status_code == 303  # ... but the page has expired


def test_resending_the_confirmation_mails_a_new_link_that_works(client, mailbox, operator):
    email = new_email("unconfirmed")
    assert register(client, email).status_code == 202
    first = token_from(mailbox.wait_for(email)[-1], "/verify")
    path = member_page(operator["browser"], email)
    assert "Not confirmed yet" in operator["browser"].get(path).body.decode()
    sent = operator["browser"].form(f"{path}/resend-confirmation", {})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("?done=confirmation-sent")
    mails = mailbox.wait_for(email, count=2)
    assert len(mails) == 2
    second = token_from(mails[-1], "/verify")
    assert second != first and members.link_state(first) == "replaced"
    assert post_json(client, "/api/v1/members/verify",
                     {"token": second, "password": PASSWORD}).status_code == 200
    member_id = member_id_of(email)
    assert "confirmation_resent" in actions_about(member_id)

    again = operator["browser"].form(f"{path}/resend-confirmation", {})
    assert again.status_code == 409 and "already confirmed" in again.body.decode()
    assert len(mailbox.to(email)) == 2


def test_ending_every_session_of_a_member(client, mailbox, operator):
    email, member = verified_member(client, mailbox)
    other = login(client, email)
    assert client.http.get("/api/v1/me", headers=member).status_code == 200
    path = member_page(operator["browser"], email)
    assert "2 live sessions" in operator["browser"].get(path).body.decode()
    ended = operator["browser"].form(f"{path}/end-sessions", {})
    assert ended.status_code == 303
    for cookie in (member, other):
        assert client.http.get("/api/v1/me", headers=cookie).status_code == 401
    assert "0 live sessions" in operator["browser"].get(path).body.decode()
    [entry] = [e for e in audit_about(member_id_of(email)) if e["action"] == "member_sessions_ended"]
    assert entry["detail"] == {"count": "2"}


def test_suppressing_an_address_is_in_the_members_history(client, mailbox, operator):
    email, member = verified_member(client, mailbox, offers=True, partner_promotions=True)
    member_id = member_id_of(email)
    path = member_page(operator["browser"], email)
    done = operator["browser"].form(f"{path}/suppress", {})
    assert done.status_code == 303 and done.headers["Location"].endswith("?done=suppressed")
    stored = members.get_member(member_id)
    assert stored.suppressed and not members.eligible(stored, "offers")
    assert not members.eligible(stored, "partner_promotions")
    history = client.http.get("/api/v1/me/consents/history", headers=member).json_body["events"]
    withdrawn = [(e["purpose"], e["granted"]) for e in history if e["source"] == "support_suppression"]
    assert sorted(withdrawn) == [("offers", False), ("partner_promotions", False)]
    assert consent.verify_chain(member_id) == []
    page = operator["browser"].get(path).body.decode()
    assert "when our support team stopped all promotional e-mail" in page
    assert "Suppressed: none is sent" in page and 'id="member-suppress"' not in page
    account = client.http.get("/account", headers=member).body.decode()
    assert "when our support team stopped all promotional e-mail to your address" in account
    assert "member_suppressed" in actions_about(member_id)


def test_erasing_needs_the_second_factor_and_the_typed_address(client, mailbox, operator,
                                                               fake_clock):
    email, member = verified_member(client, mailbox, offers=True, partner_promotions=False)
    member_id = member_id_of(email)
    browser = operator["browser"]
    path = member_page(browser, email)
    view = path.rsplit("/", 1)[1]
    fake_clock.advance(10 * 60 + 1)
    asked = browser.form(f"{path}/erase", {"confirm_email": email})
    assert asked.status_code == 303
    assert asked.headers["Location"] == f"/admin/confirm?next=member:{view}"
    assert members.get_member(member_id)  # nothing happened
    back = browser.form("/admin/confirm/totp", {"code": code_now(operator["secret"]),
                                                "next": f"member:{view}"})
    assert back.status_code == 303 and back.headers["Location"] == path

    day = clock.today()
    withdrawals = sum(counters.daily("consent_withdrawals", day, day, dimension="offers").values())
    wrong = browser.form(f"{path}/erase", {"confirm_email": "someone-else@example.org"})
    assert wrong.status_code == 400 and 'id="confirm_email"' in wrong.body.decode()
    assert members.get_member(member_id).email == email
    erased = browser.form(f"{path}/erase", {"confirm_email": email})
    assert erased.status_code == 303 and erased.headers["Location"] == "/admin/members?done=erased"
    assert members.support.find_by_email(email) is None
    assert client.http.get("/api/v1/me", headers=member).status_code == 401
    assert post_json(client, "/api/v1/session", {"email": email, "password": PASSWORD}).status_code == 401
    assert consent.history(member_id) == []
    assert sum(counters.daily("consent_withdrawals", day, day,
                              dimension="offers").values()) == withdrawals + 1
    assert browser.get(path).status_code == 404
    assert look_up(browser, email).status_code == 404
    entries = audit_about(member_id)
    assert "member_erased" in [e["action"] for e in entries]
    assert email not in str(entries)


def test_suppressing_asks_for_the_second_factor_again_after_10_minutes(client, mailbox, operator,
                                                                      fake_clock):
    email, _ = verified_member(client, mailbox)
    path = member_page(operator["browser"], email)
    fake_clock.advance(10 * 60 + 1)
    asked = operator["browser"].form(f"{path}/suppress", {})
    assert asked.headers["Location"].startswith("/admin/confirm?next=member:")
    assert not members.get_member(member_id_of(email)).suppressed


MEMBER_POSTS = posts_under(app, "/admin/members")


def test_every_members_post_is_covered_below():
    assert MEMBER_POSTS == ["/admin/members", "/admin/members/{view}/end-sessions",
                            "/admin/members/{view}/erase",
                            "/admin/members/{view}/resend-confirmation",
                            "/admin/members/{view}/suppress"]


@pytest.mark.parametrize("route", MEMBER_POSTS)
def test_every_members_post_needs_its_token_and_this_sites_origin(client, mailbox, operator, route):
    email = new_email("guarded")
    assert register(client, email).status_code == 202
    mailbox.wait_for(email)
    path = member_page(operator["browser"], email)
    member_id = member_id_of(email)
    target = route.replace("/admin/members/{view}", path)
    fields = {"email": email, "confirm_email": email}
    for origin in ("https://evil.example", None):
        foreign = Browser(client, send_origin=origin)
        foreign.admin, foreign.vid = operator["browser"].admin, operator["browser"].vid
        assert foreign.form(target, fields).status_code == 403, (route, origin)
    tokenless = client.http.post(target, body=f"email={email}&confirm_email={email}".encode(),
                                 headers=operator["browser"].headers(
                                     content_type="application/x-www-form-urlencoded"))
    assert tokenless.status_code == 403
    stored = members.get_member(member_id)
    assert not stored.suppressed and len(mailbox.to(email)) == 1
    assert actions_about(member_id) == ["member_looked_up"]


def test_the_lookup_page_keeps_the_address_out_of_urls(client, operator):
    page = operator["browser"].get("/admin/members").body.decode()
    form = re.search(r'<form method="post" action="/admin/members"[^>]*>', page)
    assert form, "the lookup is a POST form"
