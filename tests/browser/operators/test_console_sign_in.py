"""The operator console in Chromium: set up and sign in with a security key (a WebAuthn
virtual authenticator over the DevTools protocol), and with an authenticator app; a replayed
code is refused; a promotion is reviewed and rejected with a reason the partner reads; the
audit log shows each sign-in."""
from __future__ import annotations

import json
import re
import time
import urllib.request

import pyotp

from chalicelib import operators
from tests.browser.helpers import OPERATOR_PASSWORD, set_up_operator_with_app
from tests.integration.helpers import new_email

AUTHENTICATOR = {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}


def at_path(path: str):
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def admin_cookie(context) -> list:
    return [c for c in context.cookies() if c["name"] == "__Host-eso_admin"]


def sign_out(page) -> None:
    page.click("text=Sign out")
    page.wait_for_url(at_path("/admin/sign-in"))


def password_step(page, base: str, email: str) -> None:
    page.goto(base + "/admin/sign-in")
    page.fill("#email", email)
    page.fill("#password", OPERATOR_PASSWORD)
    page.click("#admin-sign-in button[type=submit]")
    page.wait_for_url(at_path("/admin/sign-in/second-factor"))


def test_an_operator_sets_up_and_signs_in_with_a_security_key(app_server, chromium):
    # WebAuthn refuses IP addresses: the local console's keys live at localhost.
    base = app_server.url.replace("127.0.0.1", "localhost")
    email = new_email("console-key")
    link = operators.add(email)["setup_url"]
    context = chromium.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator",
                                 {"options": AUTHENTICATOR})["authenticatorId"]
        page.goto(base + link[link.index("/admin/setup"):])
        page.fill("#password", OPERATOR_PASSWORD)
        page.click("#admin-setup button[type=submit]")
        page.wait_for_url(at_path("/admin/setup/second-factor"))
        page.click("#admin-passkey-button")
        page.locator("#admin-recovery").wait_for(state="visible")
        assert page.locator("#admin-recovery-codes li").count() == 10
        stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert [c["rpId"] for c in stored["credentials"]] == ["localhost"]
        page.click("text=Go to the console")
        page.wait_for_url(at_path("/admin"))
        assert page.locator("h1").inner_text().startswith("Today")
        sign_out(page)
        assert not admin_cookie(context)

        password_step(page, base, email)
        page.click("#admin-passkey-button")
        page.wait_for_url(at_path("/admin"))
        assert admin_cookie(context)
        page.goto(base + "/admin/audit")
        rows = page.locator("#audit-entries tbody tr").all_inner_texts()
        mine = [r for r in rows if email in r]
        assert any("signed_in" in r and "method=passkey" in r for r in mine), mine
        assert any("signed_out" in r for r in mine), mine
    finally:
        context.close()


def review_and_reject(page, base: str) -> None:
    """Open a partner's pending promotion from the queue, read its preview, reject it with a
    reason; the partner reads the reason through its API."""
    from chalicelib import promotions
    from tests.integration.partner_helpers import new_partner

    partner_id, key = new_partner("Browser review shop")
    promotion = promotions.create("partner", "Toner week", "Half price on toner.",
                                  partner_id=partner_id)
    page.click("text=Promotions")
    page.click(f"a[href='/admin/promotions/{promotion.promotion_id}']")
    assert "Half price on toner." in page.locator("#preview-text").inner_text()
    assert "unsubscribe?token=" in page.locator("#preview-text").inner_text()
    page.fill("#reason", "Say when the offer ends.")
    page.click("#reject button[type=submit]")
    page.wait_for_url(at_path("/admin/promotions"))
    request = urllib.request.Request(f"{base}/partner/v1/promotions/{promotion.promotion_id}",
                                     headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        seen = json.loads(answer.read())["promotion"]
    assert (seen["status"], seen["review_reason"]) == ("rejected", "Say when the offer ends.")


def test_an_operator_signs_in_with_an_authenticator_app_and_a_replayed_code_fails(
        app_server, chromium):
    base = app_server.url
    email = new_email("console-app")
    context = chromium.new_context()
    try:
        page = context.new_page()
        secret = set_up_operator_with_app(page, base, email)
        page.click("text=Go to the console")
        page.wait_for_url(at_path("/admin"))
        sign_out(page)

        code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: the set-up used this one
        password_step(page, base, email)
        page.fill("#code", code)
        page.click("#admin-code button[type=submit]")
        page.wait_for_url(at_path("/admin"))
        review_and_reject(page, base)
        sign_out(page)

        password_step(page, base, email)
        page.fill("#code", code)
        page.click("#admin-code button[type=submit]")
        page.locator("#code[aria-invalid=true]").wait_for()
        assert "already used" in page.locator(".form-error").inner_text()
        assert page.goto(base + "/admin").url.endswith("/admin/sign-in")
    finally:
        context.close()
