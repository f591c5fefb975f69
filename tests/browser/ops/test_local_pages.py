"""The local stack's own pages, in a real browser: the referral flow through the demo partner's
landing page, and sent mail a person can read and click through."""
import re

from chalicelib.ops import demo
from tests.integration.helpers import PASSWORD, new_email


def log_in(page, base, email, password):
    page.goto(base + "/login?next=/members")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/members")


def test_the_referral_flow_runs_end_to_end_on_the_demo_partner_page(app_server,
                                                                     browser_context):
    demo.seed()
    page = browser_context.new_page()
    log_in(page, app_server.url, demo.DEMO_MEMBER["email"], demo.DEMO_MEMBER["password"])

    page.locator(f"a[href='/go/{demo.DEMO_PARTNER_ID}']", has_text="Visit").click()
    page.wait_for_url(re.compile(r".*/_local/demo-partner/welcome\?.*eso_click=.*"))
    click_id = re.search(r"eso_click=([\w-]+)", page.url)[1]
    assert page.locator("#click").inner_text() == click_id

    order = page.input_value("#order_id")
    page.get_by_role("button", name="Report a sale").click()
    assert page.locator("h1").inner_text() == "Sale reported"
    assert page.locator("#status").inner_text() == "201"
    answer = page.locator("#answer").inner_text()
    assert f'"order_id": "{order}"' in answer and f'"click_id": "{click_id}"' in answer

    # The partner's retried report is the same sale, not a second one.
    page.get_by_role("button", name="Send the same report again").click()
    assert page.locator("#status").inner_text() == "200"
    assert f'"order_id": "{order}"' in page.locator("#answer").inner_text()

    page.get_by_role("link", name="Today's figures for the demo partner").click()
    assert page.locator("#status").inner_text() == "200"
    assert '"days"' in page.locator("#answer").inner_text()


def test_without_a_click_id_the_landing_page_says_how_to_get_one(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/_local/demo-partner/welcome")
    assert "came without an eso_click" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Report a sale").count() == 0


def test_a_confirmation_link_in_sent_mail_opens_in_the_top_window(app_server, browser_context,
                                                                   mailbox):
    import requests

    email = new_email("mailpage")
    requests.post(app_server.url + "/api/v1/members", timeout=10, json={
        "email": email, "password": PASSWORD,
        "consents": {"offers": True, "partner_promotions": False}})
    [mail] = mailbox.wait_for(email)
    page = browser_context.new_page()
    page.goto(app_server.url + "/_local/mail")
    page.locator("tr", has_text=email).get_by_role("link").click()
    assert page.locator("h1").inner_text() == mail["subject"]

    # The text part's link is a real link.
    text_link = page.locator("pre a", has_text="/verify?token=")
    assert text_link.count() == 1

    # The HTML part's link, clicked inside its frame, opens eSO's page in the top window.
    frame = page.frame_locator("iframe")
    frame.locator("a[href*='/verify?token=']").first.click()
    page.wait_for_url("**/verify?token=*")
    assert page.locator("#password").count() == 1  # the confirmation page, not a refusal
