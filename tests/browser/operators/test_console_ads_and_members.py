"""The console in Chromium, signed in with an authenticator app: an operator adds an ad to the
home page and edits it, and a visitor sees it on `/`; the operator looks up a member who has
not confirmed yet and resends the confirmation, which arrives in the local SES server; the audit
log shows each of these actions."""
from __future__ import annotations

import re
import uuid

from chalicelib import ads
from chalicelib.platform import clock
from tests.browser.helpers import set_up_operator_with_app
from tests.integration.helpers import new_email, register, token_from


def at_path(path: str):
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def seen_on_home_page(chromium, base: str, ad_id: str, title: str) -> bool:
    """Whether a new visitor meets the ad with this title on `/`: a visitor sees every
    eligible ad of the slot once before any comes back, so within as many pages as there are
    live ads."""
    now_ms = int(clock.now().timestamp() * 1000)
    live = [a for a in ads.list_ads("home") if a.state(now_ms) == "active"]
    context = chromium.new_context()
    try:
        page = context.new_page()
        for _ in range(len(live)):
            page.goto(base + "/")
            shown = page.locator(f'.ad-slot .ad[data-ad-id="{ad_id}"] .ad-title')
            if shown.count():
                return shown.inner_text() == title
        return False
    finally:
        context.close()


def test_an_operator_adds_and_edits_an_ad_and_helps_a_member(app_server, chromium, client,
                                                             mailbox):
    base = app_server.url
    email = new_email("console-catalogue")
    member = new_email("console-helped")
    assert register(client, member).status_code == 202
    first_link = token_from(mailbox.wait_for(member)[-1], "/verify")
    context = chromium.new_context()
    try:
        page = context.new_page()
        set_up_operator_with_app(page, base, email)
        page.click("text=Go to the console")
        page.wait_for_url(at_path("/admin"))

        # An ad for the home page, added from the Ads page ...
        title = "Desk lamps " + uuid.uuid4().hex[:6]
        page.click("nav >> text=Ads")
        page.wait_for_url(at_path("/admin/ads"))
        page.select_option("#ad-create #slot", "home")
        page.fill("#ad-create #title", title)
        page.fill("#ad-create #body", "Warm light for long evenings")
        page.fill("#ad-create #target_url", "https://lamps.example/desk")
        page.fill("#ad-create #weight", "3")
        page.click("#ad-create button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/ads/ad-[0-9a-f]+\?done=created$"))
        ad_id = page.url.split("/admin/ads/", 1)[1].split("?")[0]
        assert page.locator("#ad-state").inner_text() == "active"
        preview = page.locator("#ad-preview .ad-title")
        assert preview.inner_text() == title
        assert preview.get_attribute("href") == "https://lamps.example/desk"
        assert seen_on_home_page(chromium, base, ad_id, title)

        # ... edited: the home page shows the new title.
        edited = title + " and more"
        page.fill("#ad-edit #title", edited)
        page.fill("#ad-edit #frequency_cap", "2")
        page.click("#ad-edit button[type=submit]")
        page.wait_for_url(re.compile(r".*\?done=edited$"))
        assert page.locator("#ad-preview .ad-title").inner_text() == edited
        assert seen_on_home_page(chromium, base, ad_id, edited)

        # A member who lost the confirmation mail.
        page.click("nav >> text=Members")
        page.wait_for_url(at_path("/admin/members"))
        page.fill("#email", member)
        page.click("#member-lookup button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/members/[^/?]+$"))
        assert member not in page.url
        assert "Not confirmed yet" in page.locator("#member-status").inner_text()
        page.click("#member-resend button[type=submit]")
        page.wait_for_url(re.compile(r".*\?done=confirmation-sent$"))
        mails = mailbox.wait_for(member, count=2)
        assert len(mails) == 2 and token_from(mails[-1], "/verify") != first_link

        page.click("nav >> text=Audit log")
        page.wait_for_url(at_path("/admin/audit"))
        mine = [r for r in page.locator("#audit-entries tbody tr").all_inner_texts() if email in r]
        for action in ("ad_created", "ad_edited", "member_looked_up", "confirmation_resent"):
            assert any(action in row for row in mine), (action, mine)
        assert not any(member in row for row in mine)  # the member's id, never the address

        page.goto(f"{base}/admin/ads/{ad_id}")
        page.click("#ad-switch button[type=submit]")  # leave the home page as it was
        page.wait_for_url(re.compile(r".*\?done=disabled$"))
    finally:
        context.close()
