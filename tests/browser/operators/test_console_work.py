"""An operator's day in Chromium: review a partner's promotion (preview), send a test to their
own address (it arrives in the local SES server), approve it after reading the quota forecast
(the opted-in member receives it, the opted-out one does not), read a contact message shown
as text and mark it read; the audit log shows each action."""
from __future__ import annotations

import json
import re
import urllib.request

from chalicelib import promotions
from tests.browser.helpers import set_up_operator_with_app
from tests.integration.helpers import new_email
from tests.integration.partner_helpers import new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject


def at_path(path: str):
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def write_to_us(base: str, email: str, message: str) -> None:
    request = urllib.request.Request(
        base + "/api/v1/contact", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"email": email, "topic": "security", "message": message}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202


def test_an_operator_test_sends_approves_and_reads_a_message(app_server, chromium, mailbox):
    base = app_server.url
    yes, _ = make_member(mailbox, partner_promotions=True, tag="browser-yes")
    no, _ = make_member(mailbox, partner_promotions=False, tag="browser-no")
    partner_id, _ = new_partner("Browser approve shop")
    promotion = promotions.create("partner", unique_subject("Paper week"),
                                  "Two reams for one, this week.", partner_id=partner_id)
    writer = new_email("browser-writer")
    write_to_us(base, writer, "Is my <b>password</b> stored safely?\nThanks.")
    operator = new_email("browser-operator")

    context = chromium.new_context()
    try:
        page = context.new_page()
        set_up_operator_with_app(page, base, operator)
        page.click("text=Go to the console")
        page.wait_for_url(at_path("/admin"))

        # Review: the queue, then the preview of the exact message.
        page.click("nav >> text=Promotions")
        page.click(f"a[href='/admin/promotions/{promotion.promotion_id}']")
        assert "Two reams for one, this week." in page.locator("#preview-text").inner_text()
        assert "unsubscribe?token=" in page.locator("#preview-text").inner_text()

        # A test send to the operator's own address, and nobody else.
        page.click("#test-send button[type=submit]")
        page.wait_for_url(at_path(f"/admin/promotions/{promotion.promotion_id}"))
        assert "on its way" in page.locator("#promotion-done").inner_text()
        [test] = [m for m in mailbox.wait_for(operator) if m["subject"] == promotion.subject]
        assert "Two reams for one, this week." in test["body"]["text"]
        assert [m["destination"]["to"] for m in received(mailbox, promotion)] == [[operator]]

        # Approve now: the forecast first, then the final yes.
        page.check("#when-now")
        page.click("#approve button[type=submit]")
        page.wait_for_url(at_path(f"/admin/promotions/{promotion.promotion_id}/approve"))
        assert int(page.locator("#forecast-audience").inner_text().replace(",", "")) >= 1
        assert page.locator("#forecast-fits").is_visible()
        page.click("#approve-confirm button[type=submit]")
        page.wait_for_url(at_path(f"/admin/promotions/{promotion.promotion_id}"))
        assert page.locator("#promotion-status").inner_text() == "sent: finished"
        assert int(page.locator("#progress-delivered").inner_text().replace(",", "")) >= 1
        assert mailbox.wait_for(yes) and received(mailbox, promotion, yes)
        assert not received(mailbox, promotion, no)

        # A contact message: listed, shown as text, marked read.
        page.click("nav >> text=Messages")
        row = page.locator("#messages tbody tr", has_text=writer)
        row.locator("a").click()
        assert page.locator("#message-text").inner_text() == \
            "Is my <b>password</b> stored safely?\nThanks."
        assert page.locator("#message-text b").count() == 0  # text, never markup
        page.click("#message-state button[value=read]")
        page.wait_for_url(re.compile(r".*/admin/messages/\w+\?done=read$"))
        assert page.locator("#message-status").inner_text().startswith("read")

        page.goto(base + "/admin/audit")
        mine = [r for r in page.locator("#audit-entries tbody tr").all_inner_texts() if operator in r]
        for action in ("promotion_test_sent", "promotion_approved", "message_marked"):
            assert any(action in r for r in mine), (action, mine)
        assert any("message_marked" in r and "status=read" in r for r in mine)
    finally:
        context.close()
