"""A member in a real browser stops partner promotions and sees in /account which partners were
told to unlink them, and which have confirmed it."""
import json

from chalicelib import members
from chalicelib.members.consent import Provenance
from chalicelib.partners import notices
from tests.browser.helpers import log_in
from tests.integration.helpers import PASSWORD, new_email, token_from
from tests.integration.partner_helpers import WebhookReceiver, new_partner

LANDING_PAGE = "<!doctype html><title>Shop</title><h1>Welcome to the shop</h1>"


def test_account_shows_the_partners_told_and_whether_they_confirmed(
        app_server, browser_context, mailbox):
    email = new_email("browser-notices")
    members.register(members.Registration(email=email, password=PASSWORD,
                                          consents={"offers": False, "partner_promotions": True},
                                          display_name="Sam Notices"),
                     Provenance("registration", "/tests"))
    members.verify_email(token_from(mailbox.wait_for(email)[-1], "/verify"), PASSWORD)
    answering, _ = new_partner("Answering Desks", description="Desks for small offices")
    silent, _ = new_partner("Silent Paper", description="Paper by the ream")
    receiver = WebhookReceiver()
    try:
        notices.register_webhook(answering, receiver.url("/answering"))
        # The partners' sites are not on this machine: the browser gets a stand-in page.
        browser_context.route("https://shop.example/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body=LANDING_PAGE))
        log_in(browser_context, app_server.url, email)
        page = browser_context.new_page()
        for partner_id in (answering, silent):
            page.goto(app_server.url + "/members")
            page.locator(f"#offer-partner-{partner_id}").get_by_role("link", name="Visit").click()
            page.wait_for_url("https://shop.example/**")

        page.goto(app_server.url + "/account")
        assert page.locator("#no-partner-notices").is_visible()
        page.locator("#consent-partner_promotions").get_by_role("button", name="Stop").click()
        page.wait_for_url("**/account?done=consent-partner_promotions")
        notices.run()  # the stage's 5-minute schedule, now

        page.goto(app_server.url + "/account")
        rows = page.locator("#partner-notices tbody tr")
        assert rows.count() == 2
        # Partners' names carry a tag of their own: "Answering Desks 1a2b3c4d".
        told = {rows.nth(i).locator(".partner-name").inner_text().rsplit(" ", 1)[0]:
                rows.nth(i).locator(".notice-state").inner_text() for i in range(2)}
        assert told["Answering Desks"].startswith("The partner confirmed it")
        assert told["Silent Paper"].startswith("Waiting: the partner has not given us an address")
        assert "You stopped partner promotions" in rows.nth(0).inner_text()
        [post] = receiver.at("/answering")
        assert json.loads(post["body"])["event"] == "consent_withdrawn"
    finally:
        receiver.close()
