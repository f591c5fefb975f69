"""Defects a review found, each shown as a user would meet it, and fixed."""
import json
import threading

import pytest

from chalicelib import partners, promotions
from chalicelib.models import EmailClaim, Member, RateLimit
from tests.integration.helpers import (
    PASSWORD, cookie_value, login, new_email, post_json, register, token_from, verified_member,
)
from tests.integration.partner_helpers import bearer, click, new_partner, order, report
from tests.integration.test_promotions import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def test_parallel_wrong_passwords_are_throttled_too(client, mailbox):
    email, _ = verified_member(client, mailbox)
    codes = []
    barrier = threading.Barrier(12)

    def guess(i):
        from chalicelib import members
        from chalicelib.errors import AuthenticationError, RateLimitedError

        barrier.wait()
        try:
            members.login(email, f"wrong guess number {i}")
        except AuthenticationError:
            codes.append(401)
        except RateLimitedError:
            codes.append(429)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(401) == 5 and codes.count(429) == 7


def test_a_successful_login_does_not_count_towards_the_throttle(client, mailbox):
    email, _ = verified_member(client, mailbox)
    for _ in range(8):
        login(client, email)


def test_deeply_nested_json_is_a_400(client):
    response = client.http.post("/api/v1/members", body=b"[" * 5000,
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json_body["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_an_out_of_range_sale_time_is_a_400(client, instant):
    partner_id, key = new_partner("Range")
    response = report(client, key, order(click(client, partner_id), occurred_at=instant))
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_occurred_at"


def test_pages_answer_503_with_retry_after_when_the_database_is_down(client, mailbox, monkeypatch):
    _, headers = verified_member(client, mailbox)
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "1")
    for path in ("/", "/members", "/account", "/privacy"):
        response = client.http.get(path, headers=headers)
        assert response.status_code == 503, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert int(response.headers["Retry-After"]) >= 1


def test_plain_text_mail_is_not_html_escaped(client, mailbox):
    partner_id, _ = new_partner("Text", contact_email="text-partner@shop.example")
    _, member = verified_member(client, mailbox)
    post_json(client, f"/api/v1/partners/{partner_id}/contact",
              {"message": "Price < 100 & 'fast'"}, headers=member)
    mail = mailbox.wait_for("text-partner@shop.example")[-1]
    assert "Price < 100 & 'fast'" in mail["body"]["text"]
    assert "&lt;" not in mail["body"]["text"] and "&#39;" not in mail["body"]["text"]
    assert "Price &lt; 100 &amp;" in mail["body"]["html"]


def test_a_disabled_partners_promotion_is_not_sent(client, mailbox):
    partner_id, key = new_partner("Disabled")
    wants, _ = make_member(mailbox, partner_promotions=True)
    promotion_id = post_json(client, "/partner/v1/promotions",
                             {"subject": unique_subject("Gone"), "text": "x"},
                             bearer(key)).json_body["promotion"]["id"]
    promotions.approve(promotion_id)
    partners.disable(partner_id)
    promotions.dispatch(promotion_id)
    assert received(mailbox, promotions.get(promotion_id)) == []


def test_a_partner_without_a_privacy_policy_cannot_have_a_promotion_approved(mailbox):
    from chalicelib.errors import ConflictError

    created = partners.create("No policy", "https://shop.example/landing")
    promotion = promotions.create("partner", unique_subject("No policy"), "x",
                                  partner_id=created.partner_id)
    with pytest.raises(ConflictError):
        promotions.approve(promotion.promotion_id)


def test_partner_html_cannot_hide_the_footer_or_track_opens(mailbox):
    promotion = promotions.create(
        "partner", unique_subject("Sneaky"), "x",
        html='<p>Deal</p><img src="https://partner.example/pixel.gif"><div style="display:none"><!--',
        partner_id="p1")
    assert "pixel" not in promotion.html and "style" not in promotion.html
    assert "<!--" not in promotion.html and promotion.html.count("<div>") == promotion.html.count("</div>")


def test_an_old_reset_link_stops_working_after_a_reset(client, mailbox):
    email, _ = verified_member(client, mailbox)
    post_json(client, "/api/v1/password-reset", {"email": email})
    post_json(client, "/api/v1/password-reset", {"email": email})
    resets = [m for m in mailbox.wait_for(email, count=3) if "Reset" in m["subject"]]
    older, newer = resets[-2], resets[-1]
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(newer, "/reset-password"), "password": "brand new password 1"}).status_code == 204
    assert post_json(client, "/api/v1/password-reset/confirm", {
        "token": token_from(older, "/reset-password"), "password": "attacker password 2"}).status_code == 400


def test_deletion_leaves_no_throttling_counter_keyed_by_the_address(client, mailbox, stack):
    email, headers = verified_member(client, mailbox)
    post_json(client, "/api/v1/session", {"email": email, "password": "a wrong password"})
    register(client, email)  # an "already registered" mail counts against the address
    before = {item.key for item in RateLimit.scan()}
    assert post_json(client, "/api/v1/me", {"password": PASSWORD}, headers=headers,
                     method="DELETE").status_code == 204
    after = {item.key for item in RateLimit.scan()}
    gone = before - after
    assert any(k.startswith("login:") for k in gone) and any(k.startswith("mail:") for k in gone)


def test_an_origin_with_another_scheme_is_refused(client, mailbox):
    _, headers = verified_member(client, mailbox)
    import os
    origin = f"https://127.0.0.1:{os.environ['ESO_APP_PORT']}"
    response = post_json(client, "/api/v1/me/consents", {"offers": False},
                         headers={**headers, "Origin": origin}, method="PUT")
    assert response.status_code == 403


def test_a_report_racing_an_erasure_never_keeps_the_member_link(client, mailbox, monkeypatch):
    from chalicelib import personal_data, referrals
    from chalicelib.models import PartnerTransaction

    email, member = verified_member(client, mailbox)
    member_id = EmailClaim.get(email).member_id
    partner_id, _ = new_partner("Race")
    click_id = click(client, partner_id, member)
    real = referrals._usable_click

    def read_then_erase(*args, **kwargs):
        clicked = real(*args, **kwargs)
        assert clicked.member_id == member_id  # the report read the link...
        personal_data.erase(member_id)          # ...and the member is erased before it writes
        return clicked

    monkeypatch.setattr(referrals, "_usable_click", read_then_erase)
    txn, created = referrals.report_transaction(
        partner_id, referrals.Report(click_id, "RACE-1", "5.00", "USD"))
    assert created
    assert PartnerTransaction.get(partner_id, "RACE-1", consistent_read=True).member_id is None
