"""A member manages their account in a real browser: sessions on two browsers, the password,
the e-mail address (through the local SES server, with undo), and Global Privacy Control."""
from tests.browser.helpers import log_in
from tests.integration.helpers import PASSWORD, new_email, token_from
from tests.integration.promotion_helpers import make_member


def account(context, base):
    page = context.new_page()
    page.goto(base + "/account")
    return page


def signed_in(page, base) -> bool:
    page.goto(base + "/account")
    return page.url.split("?")[0].endswith("/account")


def test_a_member_signs_out_another_browser_from_the_first(app_server, chromium, mailbox):
    email, _ = make_member(mailbox, tag="twobrowsers")
    office, home = chromium.new_context(), chromium.new_context()
    try:
        log_in(office, app_server.url, email)
        log_in(home, app_server.url, email)
        page = account(office, app_server.url)
        rows = page.locator("#session-list tbody tr")
        assert rows.count() == 2
        assert page.locator("#session-list", has_text="(this browser)").count() == 1
        page.locator("#session-list tbody tr", has_not_text="(this browser)").get_by_role(
            "button").click()
        page.wait_for_url("**/account?done=session-ended")
        assert "That session is signed out." in page.locator("main [role=status]").inner_text()
        assert page.locator("#session-list tbody tr").count() == 1

        other = home.new_page()
        assert not signed_in(other, app_server.url)  # sent to the login page
        assert "/login" in other.url
        assert signed_in(page, app_server.url)
    finally:
        office.close()
        home.close()


def test_changing_the_password_signs_out_the_other_browsers(app_server, chromium, mailbox):
    email, _ = make_member(mailbox, tag="pwbrowser")
    mine, other = chromium.new_context(), chromium.new_context()
    try:
        log_in(mine, app_server.url, email)
        log_in(other, app_server.url, email)
        page = account(mine, app_server.url)
        page.locator("summary", has_text="Change your password").click()
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", "Summer2024!")  # guessable: refused with advice
        page.get_by_role("button", name="Change the password").click()
        assert page.locator("#new_password[aria-invalid='true']").count() == 1
        assert "unrelated words" in page.locator("#new_password-error").inner_text()

        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", "lantern orchard quietly 42")
        page.get_by_role("button", name="Change the password").click()
        page.wait_for_url("**/account?done=password-changed")
        assert "Every other session was signed out." in page.locator(
            "main [role=status]").inner_text()
        assert signed_in(page, app_server.url)            # this browser stays signed in
        assert not signed_in(other.new_page(), app_server.url)
        log_in(other, app_server.url, email, "lantern orchard quietly 42")
    finally:
        mine.close()
        other.close()


def test_changing_the_address_end_to_end_and_undoing_it(app_server, browser_context,
                                                         mailbox):
    old, _ = make_member(mailbox, tag="moving")
    new = new_email("moved-to")
    log_in(browser_context, app_server.url, old)
    page = account(browser_context, app_server.url)
    page.locator("summary", has_text="Change your e-mail address").click()
    page.fill("#new_email", new)
    page.fill("#email_password", "not my password")
    page.get_by_role("button", name="Send the link").click()
    assert page.locator("#email_password[aria-invalid='true']").count() == 1
    page.fill("#new_email", new)
    page.fill("#email_password", PASSWORD)
    page.get_by_role("button", name="Send the link").click()
    page.wait_for_url("**/account?done=email-link-sent")

    # The link from the new mailbox, opened in the browser, then confirmed with a click.
    confirm = token_from(mailbox.wait_for(new)[-1], "/email/confirm")
    page.goto(f"{app_server.url}/email/confirm?token={confirm}")
    page.get_by_role("button", name="Confirm my new address").click()
    assert "This is now the e-mail address" in page.locator("#done").inner_text()
    page.goto(app_server.url + "/account")
    assert new in page.locator("#profile").inner_text()

    # The old mailbox undoes it: its address is back, this browser is signed out.
    undo = token_from([m for m in mailbox.to(old) if "/email/undo" in m["body"]["text"]][-1],
                      "/email/undo")
    page.goto(f"{app_server.url}/email/undo?token={undo}")
    page.get_by_role("button", name="Undo the change").click()
    assert "old address again" in page.locator("#done").inner_text()
    assert not signed_in(page, app_server.url)
    reset = [m for m in mailbox.wait_for(old, count=4) if "/reset-password" in m["body"]["text"]]
    assert reset, "the old address gets a link to choose a new password"


def test_gpc_on_a_signed_in_browser_stops_partner_promotions_with_a_note(app_server, chromium,
                                                                         mailbox):
    email, _ = make_member(mailbox, offers=True, partner_promotions=True, tag="gpcbrowser")
    context = chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        log_in(context, app_server.url, email)
        page = account(context, app_server.url)
        assert page.locator("#consent-partner_promotions .state").inner_text() == "No"
        assert "Global Privacy Control" in page.locator("#gpc-note").inner_text()
        history = page.locator("#consent-history").text_content()
        assert "Global Privacy Control" in history

        # Allowing them again stands, though the browser keeps sending the signal.
        page.locator("#consent-partner_promotions button").click()
        page.wait_for_url("**/account?done=consent-partner_promotions")
        page.goto(app_server.url + "/account")
        assert page.locator("#consent-partner_promotions .state").inner_text() == "Yes"
        assert page.locator("#gpc-note").count() == 0
    finally:
        context.close()
