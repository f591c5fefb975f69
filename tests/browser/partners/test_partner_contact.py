"""A member in a real browser: writes to a partner from its offer, visits it, sees both in /account."""
from chalicelib import members
from chalicelib.members.consent import Provenance
from tests.integration.helpers import PASSWORD, new_email, token_from
from tests.integration.partner_helpers import new_partner

LANDING_PAGE = "<!doctype html><title>Shop</title><h1>Welcome to the shop</h1>"


def verified_member(mailbox) -> str:
    email = new_email("browser")
    members.register(members.Registration(email=email, password=PASSWORD,
                                          # a member who takes partner promotions: their
                                          # referrals are linked to them
                                          consents={"offers": True, "partner_promotions": True},
                                          display_name="Robin Browser"),
                     Provenance("registration", "/tests"))
    members.verify_email(token_from(mailbox.wait_for(email)[-1], "/verify"), PASSWORD)
    return email


def test_member_contacts_a_partner_after_seeing_what_is_shared_and_sees_the_referral(
        app_server, browser_context, mailbox):
    email = verified_member(mailbox)
    partner_email = new_email("browser-partner")
    partner_id, _ = new_partner("Browser Shop", contact_email=partner_email,
                                description="Desks for small offices")
    # The partner's site is not on this machine: the browser gets a stand-in landing page.
    landed = []
    browser_context.route("https://shop.example/**", lambda route: (
        landed.append(route.request.url),
        route.fulfill(status=200, content_type="text/html", body=LANDING_PAGE)))
    page = browser_context.new_page()

    page.goto(app_server.url + "/login?next=/members")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/members?done=logged-in")

    offer = page.locator(f"#offer-partner-{partner_id}")
    assert "Desks for small offices" in offer.inner_text()
    policy = offer.locator("a.partner-privacy").get_attribute("href")
    assert policy.startswith("https://shop.example/") and policy.endswith("/privacy")
    offer.locator("a.contact-partner").click()
    page.wait_for_url(f"**/partners/{partner_id}/contact")
    assert page.locator("#partner-privacy").get_attribute("href") == policy

    page.fill("#message", "Do you deliver desks to Springfield?")
    page.locator("#review-button").click()
    assert page.locator("#shared-name").inner_text() == "Robin Browser"
    assert page.locator("#shared-email").inner_text() == email
    assert page.locator("#shared-message").inner_text() == "Do you deliver desks to Springfield?"
    assert mailbox.to(partner_email) == []  # nothing leaves before the member confirms
    page.locator("#confirm").click()
    assert page.locator("h1").inner_text() == "Message sent"

    [mail] = mailbox.wait_for(partner_email)
    assert "Do you deliver desks to Springfield?" in mail["body"]["text"]
    assert email in mail["body"]["text"] and "Robin Browser" in mail["body"]["text"]

    page.goto(app_server.url + "/members")
    page.locator(f"#offer-partner-{partner_id}").get_by_role("link", name="Visit").click()
    page.wait_for_url("https://shop.example/**")
    assert page.locator("h1").inner_text() == "Welcome to the shop"
    assert "eso_click=" in landed[-1] and "src=eso" in landed[-1]

    page.goto(app_server.url + "/account")
    referrals = page.locator("#referral-clicks")
    assert "Browser Shop" in referrals.inner_text()
    assert "Browser Shop" in page.locator("#partner-contacts").inner_text()
    assert email in page.locator("#partner-contacts").inner_text()
