"""After a change, the page says what happened, in words, where screen readers announce it."""
from chalicelib import promotions
from tests.browser.helpers import log_in
from tests.integration.helpers import PASSWORD
from tests.integration.promotion_helpers import make_member

RAW_CODES = ("partner_promotions", "preference_center", "registration", "unsubscribe_link",
             "withdrawn", "granted")


def confirmation(page) -> str:
    """The confirmation the page shows in its live region, and that it is where focus is."""
    status = page.locator("main [role=status]")
    assert status.count() == 1
    assert page.evaluate("document.activeElement.getAttribute('role')") == "status"
    return status.inner_text()


def test_allow_and_stop_are_confirmed_and_announced(app_server, browser_context, mailbox):
    email, _ = make_member(mailbox, offers=True, partner_promotions=False, tag="confirm")
    log_in(browser_context, app_server.url, email)
    page = browser_context.new_page()
    page.goto(app_server.url + "/account")
    assert page.locator("main [role=status]").count() == 0  # nothing changed yet

    page.locator("#consent-offers button").click()
    page.wait_for_url("**/account?done=consent-offers")
    assert confirmation(page).startswith("Saved: you stopped eSO offers.")
    assert page.locator("#consent-offers .state").inner_text() == "No"

    page.locator("#consent-partner_promotions button").click()
    page.wait_for_url("**/account?done=consent-partner_promotions")
    assert confirmation(page).startswith("Saved: you allowed partner promotions.")

    # The words follow the state, not the address: a stale link cannot claim the opposite.
    page.goto(app_server.url + "/account?done=consent-offers")
    assert confirmation(page).startswith("Saved: you stopped eSO offers.")


def test_logging_in_and_out_is_confirmed(app_server, browser_context, mailbox):
    email, _ = make_member(mailbox, tag="confirm")
    page = browser_context.new_page()
    page.goto(app_server.url + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/members?done=logged-in")
    assert confirmation(page).startswith("You are logged in.")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(app_server.url + "/?done=logged-out")
    assert confirmation(page).startswith("You are logged out.")
    assert page.get_by_role("navigation").get_by_role("link", name="Log in").count() == 1

    # Only true things: a member opening the logged-out address is not told they are out.
    log_in(browser_context, app_server.url, email)
    page.goto(app_server.url + "/?done=logged-out")
    assert page.locator("main [role=status]").count() == 0


def test_the_consent_history_speaks_plainly(app_server, browser_context, mailbox):
    email, member_id = make_member(mailbox, offers=True, partner_promotions=False, tag="history")
    log_in(browser_context, app_server.url, email)
    page = browser_context.new_page()
    page.goto(app_server.url + "/account")
    page.locator("#consent-partner_promotions button").click()   # allow
    page.locator("#consent-partner_promotions button").click()   # and stop again
    page.goto(f"{app_server.url}/unsubscribe?token={promotions.unsubscribe_token(member_id, 'offers')}")
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.locator("#unsubscribed").is_visible()

    page.goto(app_server.url + "/account")
    page.get_by_text("History of your choices").click()
    history = page.locator("#consent-history li").all_inner_texts()
    said = ["You chose eSO offers when you signed up.",
            "You did not choose partner promotions when you signed up.",
            "You allowed partner promotions in your account.",
            "You stopped partner promotions in your account.",
            "You unsubscribed from eSO offers with the link in one of our e-mails."]
    assert len(history) == len(said), history
    assert all(words in line for words, line in zip(said, history)), history
    shown = page.locator("main").inner_text()
    assert not [code for code in RAW_CODES if code in shown]


def test_a_message_sent_through_the_api_is_confirmed_in_place(app_server, browser_context, mailbox):
    page = browser_context.new_page()
    page.goto(app_server.url + "/contact")
    page.fill("#email", "asker@example.org")
    page.fill("#message", "Where is my data stored?")
    with page.expect_response("**/api/v1/contact") as sent:
        page.get_by_role("button", name="Send").click()
    assert sent.value.status == 202
    status = page.locator("#contact-status")
    status.get_by_text("Thank you: your message is sent.").wait_for()
    assert status.get_attribute("role") == "status"
    assert page.evaluate("document.activeElement.id") == "contact-status"
    assert not page.locator("main form").is_visible()
    assert any("Where is my data stored?" in m["body"]["text"]
               for m in mailbox.wait_for("privacy@esmalloffice.example"))
