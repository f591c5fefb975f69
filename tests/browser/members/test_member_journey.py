"""A member's whole journey in a real browser, with the real verification e-mail."""
import re

from playwright.sync_api import expect

from chalicelib.web.cookies import SESSION_COOKIE
from tests.integration.helpers import PASSWORD, new_email


def test_register_verify_login_change_consents_logout(app_server, browser_context, mailbox):
    base = app_server.url
    email = new_email("browser")
    page = browser_context.new_page()

    page.goto(base + "/register")
    offers_box = page.get_by_label("Contact me with special offers and services")
    assert offers_box.is_checked()
    page.fill("#email", email)
    page.fill("#display_name", "Robin Browser")
    page.fill("#password", PASSWORD)
    page.uncheck("#partner_promotions")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your inbox")

    mail = mailbox.wait_for(email)[0]
    link = re.search(r"(http://\S+/verify\?token=\S+)", mail["body"]["text"]).group(1)
    assert link.startswith(base)
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.click("text=Confirm my address")
    expect(page.locator("#verified")).to_be_visible()  # waits for the page the click opens

    page.goto(base + "/members")
    assert page.url.startswith(base + "/login")  # visitors are sent to the login page
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/members?done=logged-in")
    assert page.locator("h1").inner_text() == "Members' offers and services"
    session = [c for c in browser_context.cookies() if c["name"] == SESSION_COOKIE][0]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    assert session["domain"] == "127.0.0.1"

    page.goto(base + "/account")
    assert page.locator("#consent-offers .state").inner_text() == "Yes"
    assert page.locator("#consent-partner_promotions .state").inner_text() == "No"
    page.click("#consent-offers button")           # one click to withdraw
    assert page.locator("#consent-offers .state").inner_text() == "No"
    page.click("#consent-partner_promotions button")  # one click to grant
    assert page.locator("#consent-partner_promotions .state").inner_text() == "Yes"
    page.click("text=History of your choices")
    history = page.locator("#consent-history li").all_inner_texts()  # oldest first
    said = ["You chose eSO offers when you signed up.",
            "You did not choose partner promotions when you signed up.",
            "You stopped eSO offers in your account.",
            "You allowed partner promotions in your account."]
    assert len(history) == len(said)
    assert all(words in line for words, line in zip(said, history)), history

    page.click("text=Log out")
    page.wait_for_url(base + "/?done=logged-out")
    assert not [c for c in browser_context.cookies() if c["name"] == SESSION_COOKIE]

    # The old session cookie, replayed, is refused by the server.
    browser_context.add_cookies([{k: session[k] for k in
                                  ("name", "value", "domain", "path", "secure", "httpOnly", "sameSite")}])
    replay = page.request.get(base + "/api/v1/me")
    assert replay.status == 401
    page.goto(base + "/account")
    assert page.url.startswith(base + "/login")


def test_register_page_honours_global_privacy_control(app_server, chromium):
    context = chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        page = context.new_page()
        page.goto(app_server.url + "/register")
        assert not page.is_checked("#partner_promotions")
        assert page.is_checked("#offers")
        assert "Global Privacy Control" in page.locator("#gpc-notice").inner_text()
    finally:
        context.close()


def test_a_form_posted_without_its_token_is_refused(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/register")
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'forged'")
    page.fill("#email", new_email("forged"))
    page.fill("#password", PASSWORD)
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.request.method == "POST" else None)
    page.click("form.card button[type=submit]")
    page.wait_for_load_state()
    assert response_status == [403]
    assert "This form has expired. Reload the page and try again." in page.get_by_role("alert").inner_text()
