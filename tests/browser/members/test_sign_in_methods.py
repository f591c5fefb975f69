"""Passkeys and two-step sign-in in Chromium: a passkey added on the account page with a
WebAuthn virtual authenticator signs in with no password, and once removed is refused; an
authenticator app's codes at the second step of a password sign-in, wrong, right, replayed."""
import json
import re
import time
import urllib.request

import pyotp

from chalicelib.web.cookies import SESSION_COOKIE
from tests.integration.helpers import PASSWORD, new_email, token_from

NO_PASSKEY_AUTOFILL = ("PublicKeyCredential.isConditionalMediationAvailable = "
                       "() => Promise.resolve(false);")
AUTHENTICATOR = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                 "hasUserVerification": True, "isUserVerified": True}


def at_path(path: str):
    """A URL predicate: that page, whatever its query (confirmations add ?done=…)."""
    from urllib.parse import urlsplit

    return lambda url: urlsplit(url).path == path


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def verified_member(base: str, mailbox) -> str:
    email = new_email("browser-sign-in")
    assert post(base + "/api/v1/members", {"email": email, "password": PASSWORD, "consents": {
        "offers": False, "partner_promotions": False}}) == 202
    token = token_from(mailbox.wait_for(email)[-1], "/verify")
    assert post(base + "/api/v1/members/verify", {"token": token, "password": PASSWORD}) == 200
    return email


def log_in_with_password(page, base: str, email: str, next_page: str = "/members"):
    page.goto(f"{base}/login?next={next_page}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")


def session_cookies(context) -> list:
    return [c for c in context.cookies() if c["name"] == SESSION_COOKIE]


def log_out(page):
    page.click("text=Log out")
    page.wait_for_url(at_path("/"))


def test_a_passkey_signs_in_without_a_password_and_a_removed_one_is_refused(
        app_server, chromium, mailbox):
    # WebAuthn refuses IP addresses as relying parties: the local site's passkeys live at
    # localhost (same server, same port).
    base = app_server.url.replace("127.0.0.1", "localhost")
    email = verified_member(app_server.url, mailbox)
    context = chromium.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator",
                                 {"options": AUTHENTICATOR})["authenticatorId"]

        log_in_with_password(page, base, email, "/account")
        page.wait_for_url(at_path("/account"))
        assert page.locator("#no-passkeys").is_visible()
        assert page.locator("#passkey-unsupported").is_hidden()
        page.fill("#passkey-name", "Test laptop")
        page.fill("#passkey-password", PASSWORD)
        page.click("#passkey-add-button")
        page.wait_for_selector("#passkey-list .passkey-name")
        assert page.locator("#passkey-list .passkey-name").all_inner_texts() == ["Test laptop"]
        assert page.locator("#passkey-list .passkey-last-used").inner_text() == "never"
        stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]
        assert stored["credentials"][0]["rpId"] == "localhost"
        log_out(page)
        assert not session_cookies(context)

        # No password typed: the e-mail field offers the device's passkey among its
        # suggestions (conditional mediation), which the virtual authenticator accepts.
        page.goto(base + "/login")
        page.wait_for_url(at_path("/members"))  # nothing clicked, nothing typed
        assert session_cookies(context)
        log_out(page)

        # A browser without that autofill: the button.
        context.add_init_script(NO_PASSKEY_AUTOFILL)
        page.goto(base + "/login")
        page.click("#passkey-sign-in-button")
        page.wait_for_url(at_path("/members"))
        assert session_cookies(context)
        page.goto(base + "/account")
        assert page.locator("#passkey-list .passkey-last-used").inner_text() != "never"

        page.click("#passkey-list button:has-text('Remove')")
        page.wait_for_selector("#no-passkeys")
        log_out(page)

        page.goto(base + "/login")
        page.click("#passkey-sign-in-button")
        error = page.locator("#passkey-sign-in-error")
        error.wait_for(state="visible")
        assert "not registered" in error.inner_text()
        assert page.url.endswith("/login") and not session_cookies(context)
    finally:
        context.close()


def test_on_the_local_ip_address_the_login_page_points_to_the_passkeys_host(app_server, chromium):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(app_server.url + "/login")
        note = page.locator("#passkey-sign-in #passkey-other-host")
        note.wait_for(state="visible")
        link = note.locator("a").get_attribute("href")
        assert link == app_server.url.replace("127.0.0.1", "localhost") + "/login"
        assert page.locator("#passkey-sign-in-button").is_hidden()  # it could only fail here
    finally:
        context.close()


def test_two_step_sign_in_with_wrong_right_and_replayed_codes(app_server, browser_context,
                                                              mailbox):
    base = app_server.url
    email = verified_member(base, mailbox)
    page = browser_context.new_page()
    log_in_with_password(page, base, email, "/account")
    page.wait_for_url(at_path("/account"))

    assert "Off." in page.locator("#totp-state").inner_text()
    page.fill("#totp-password", PASSWORD)
    page.click("#two-step button:has-text('Set up two-step sign-in')")
    page.wait_for_selector("#totp-qr")
    assert page.locator("#totp-qr").get_attribute("src").startswith("data:image/svg+xml")
    secret = page.locator("#totp-secret").inner_text()
    app = pyotp.TOTP(secret)
    page.fill("#totp-code", app.now())
    page.click("#two-step button:has-text('Turn two-step sign-in on')")
    page.wait_for_selector("#recovery-codes")
    codes = page.locator("#recovery-codes li code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", c)
                                    for c in codes)
    assert page.locator("#recovery-codes-left").inner_text() == "10"
    log_out(page)

    log_in_with_password(page, base, email)
    page.wait_for_selector("#second-factor")
    assert not session_cookies(browser_context)  # the password alone opens nothing
    right = app.at(time.time() + 30)  # the next step's code (the set-up used this step's)
    page.fill("#code", "000000" if right != "000000" else "111111")
    page.click("#second-factor button[type=submit]")
    page.wait_for_selector(".error")
    assert "not right" in page.locator(".error").inner_text()
    assert not session_cookies(browser_context)
    page.fill("#code", right)
    page.click("#second-factor button[type=submit]")
    page.wait_for_url(at_path("/members"))
    assert session_cookies(browser_context)
    log_out(page)

    log_in_with_password(page, base, email)
    page.wait_for_selector("#second-factor")
    page.fill("#code", right)  # the same code again: refused
    page.click("#second-factor button[type=submit]")
    page.wait_for_selector(".error")
    assert "already used" in page.locator(".error").inner_text()
    assert not session_cookies(browser_context)
    page.fill("#code", codes[0])  # a recovery code instead
    page.click("#second-factor button[type=submit]")
    page.wait_for_url(at_path("/members"))
    page.goto(base + "/account")
    assert page.locator("#recovery-codes-left").inner_text() == "9"
