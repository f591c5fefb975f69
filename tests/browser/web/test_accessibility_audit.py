"""Every page, as a visitor and as a member, on a 390 px phone and a 1280 px screen: no serious
or critical WCAG 2.x A/AA violation found by axe-core, and no horizontal scrolling with every
expandable section open."""
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib import members, partners, promotions
from chalicelib.members.consent import Provenance
from tests.browser.helpers import (
    OPERATOR_PASSWORD,
    VIEWPORTS,
    axe_violations,
    describe,
    horizontal_overflow,
    log_in,
    open_every_details,
    set_up_operator_with_app,
)
from tests.integration.helpers import PASSWORD, new_email, token_from
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import make_member


@dataclass
class World:
    base: str
    email: str               # a member with a referral, a purchase and a message to a partner
    partner_id: str
    verify_token: str        # a usable confirmation link of an unconfirmed registration
    unsubscribe_token: str   # the member's unsubscribe link for eSO offers
    snooze_token: str        # the member's pause link
    operator_email: str = ""  # an operator set up with an app, for the console's pages


@pytest.fixture(scope="module")
def world(app_server, chromium, mailbox):
    members.topics.add_topic(f"Audit office chairs and desks {uuid.uuid4().hex[:6]}")
    email, member_id = make_member(mailbox, offers=True, partner_promotions=True, tag="audit")
    partner_id, key = new_partner("Demo Office Supplies", description="Paper, toner and chairs")
    context = chromium.new_context()
    try:
        log_in(context, app_server.url, email)
        referral = context.request.get(f"{app_server.url}/go/{partner_id}", max_redirects=0)
        assert referral.status == 302
        click_id = parse_qs(urlsplit(referral.headers["location"]).query)["eso_click"][0]
        reported = context.request.post(
            app_server.url + "/partner/v1/transactions", headers=bearer(key),
            data={"click_id": click_id, "order_id": "AUDIT-0001-WITH-A-LONG-ORDER-NUMBER",
                  "amount": "1234.50", "currency": "USD"})
        assert reported.status == 201, reported.text()
    finally:
        context.close()
    partners.contacts.send(member_id, partner_id, "Do you deliver to Springfield?")
    unconfirmed = new_email("audit-unconfirmed")
    members.register(members.Registration(email=unconfirmed, password=PASSWORD,
                                          consents={"offers": True, "partner_promotions": True}),
                     Provenance("registration", "/tests"))
    return World(app_server.url, email, partner_id,
                 token_from(mailbox.wait_for(unconfirmed)[-1], "/verify"),
                 promotions.unsubscribe_token(member_id, "offers"),
                 promotions.snooze_token(member_id))


def _submit(page, selector="main form button[type=submit]"):
    with page.expect_navigation():
        page.locator(selector).first.click()


def _register_with_an_error(page, w):
    page.goto(w.base + "/register")
    page.fill("#email", "someone@localhost")  # looks like an address, is not one
    page.fill("#password", PASSWORD)
    _submit(page)
    assert page.locator("#email[aria-invalid=true]").count() == 1


def _registered(page, w):
    page.goto(w.base + "/register")
    page.fill("#email", new_email("audit-register"))
    page.fill("#password", PASSWORD)
    _submit(page)
    assert page.locator("h1").inner_text() == "Check your inbox"


def _login_with_an_error(page, w):
    page.goto(w.base + "/login")
    page.fill("#email", new_email("audit-nobody"))
    page.fill("#password", "not the password at all")
    page.locator("main form button[type=submit]").click()
    page.locator("#form-error-message").wait_for()
    assert page.locator("#password[aria-invalid=true]").count() == 1


def _reset_requested(page, w):
    page.goto(w.base + "/reset-password")
    page.fill("#email", new_email("audit-reset"))
    _submit(page)
    assert page.locator("h1").inner_text() == "Check your inbox"


def _contact_with_an_error(page, w):
    page.goto(w.base + "/contact")
    page.fill("#email", "someone@example.org")
    page.locator("main form button[type=submit]").click()
    page.locator("#message-error").wait_for()


def _expired_form(page, w):
    page.goto(w.base + "/register")
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'forged'")
    page.fill("#email", new_email("audit-expired"))
    page.fill("#password", PASSWORD)
    _submit(page)
    assert "form has expired" in page.locator(".form-error").inner_text()


def _unsubscribed(page, w):
    page.goto(f"{w.base}/unsubscribe?token={w.unsubscribe_token}")
    _submit(page)
    assert page.locator("#unsubscribed").is_visible()


def _paused(page, w):
    page.goto(f"{w.base}/snooze?token={w.snooze_token}&period=three_months")
    _submit(page, "#snooze-periods button[type=submit]")
    assert page.locator("#snoozed").is_visible()


def _paused_in_the_account(page, w):
    page.goto(w.base + "/account")
    _submit(page, "#snooze-choices button[type=submit]")
    assert page.locator("#end-snooze").is_visible()


def _preferences_with_an_error(page, w):
    page.goto(w.base + "/account")
    page.evaluate("document.querySelector('#frequency-week').value = 'hourly'")
    page.locator("#frequency-week").check()
    _submit(page, "#promotion-preferences button[type=submit]")
    assert page.locator("#promotion-preferences-error .error").is_visible()


def _delete_with_a_wrong_password(page, w):
    page.goto(w.base + "/account")
    page.fill("#password", "not my password, certainly")
    _submit(page, "#delete button[type=submit]")
    assert page.locator("#password[aria-invalid=true]").count() == 1


def _partner_contact_review(page, w):
    page.goto(f"{w.base}/partners/{w.partner_id}/contact")
    page.fill("#message", "A question about toner,\nwith a second line.")
    _submit(page)
    assert page.locator("#review").is_visible()


def _partner_contact_with_an_error(page, w):
    page.goto(f"{w.base}/partners/{w.partner_id}/contact")
    page.fill("#message", "   ")
    _submit(page)
    assert page.locator("#message[aria-invalid=true]").count() == 1


def _password_change_with_an_error(page, w):
    page.goto(w.base + "/account")
    page.locator("summary", has_text="Change your password").click()
    page.fill("#current_password", "not the password at all")
    page.fill("#new_password", "a brand new passphrase")
    page.get_by_role("button", name="Change the password").click()
    assert page.locator("#current_password[aria-invalid='true']").count() == 1


def _go(path):
    def visit(page, w):
        response = page.goto(w.base + path.format(w=w))
        assert response.status < 500
    return visit


VISITOR_PAGES = {
    "home": _go("/"),
    "home after logging out": _go("/?done=logged-out"),
    "register": _go("/register"),
    "register with a field error": _register_with_an_error,
    "check your inbox": _registered,
    "log in": _go("/login"),
    "log in with a field error": _login_with_an_error,
    "confirm without a link": _go("/verify"),
    "confirm with a usable link": _go("/verify?token={w.verify_token}"),
    "confirm with a bad link": _go("/verify?token=not-a-real-token-at-all"),
    "reset password": _go("/reset-password"),
    "reset password with a link": _go("/reset-password?token=a-link-token"),
    "reset requested (message page)": _reset_requested,
    "privacy policy": _go("/privacy"),
    "contact": _go("/contact"),
    "contact about an eSO offer": _go("/contact?offer=eso-backup"),
    "contact with a field error": _contact_with_an_error,
    "expired form": _expired_form,
    "unsubscribe": _go("/unsubscribe?token={w.unsubscribe_token}"),
    "unsubscribe with a bad link": _go("/unsubscribe?token=bogus"),
    "unsubscribed": _unsubscribed,
    "pause promotions": _go("/snooze?token={w.snooze_token}&period=two_weeks"),
    "pause with a bad link": _go("/snooze?token=bogus&period=two_weeks"),
    "paused": _paused,
    "not found": _go("/no/such/page"),
    "unknown partner": _go("/go/no-such-partner"),
    "confirm a new address": _go("/email/confirm?token=an-address-link-token"),
    "undo an address change": _go("/email/undo?token=an-undo-link-token"),
}
MEMBER_PAGES = {
    "members' area": _go("/members"),
    "members' area after logging in": _go("/members?done=logged-in"),
    "account": _go("/account"),
    "account after a consent change": _go("/account?done=consent-offers"),
    "account with a field error": _delete_with_a_wrong_password,
    "account with a password-change error": _password_change_with_an_error,
    "account after ending other sessions": _go("/account?done=sessions-ended"),
    "account after saving topics and frequency": _go("/account?done=preferences-saved"),
    "account with a preferences error": _preferences_with_an_error,
    "account while promotions are paused": _paused_in_the_account,
    "write to a partner": _go("/partners/{w.partner_id}/contact"),
    "write to a partner: review": _partner_contact_review,
    "write to a partner with a field error": _partner_contact_with_an_error,
    "contact, signed in": _go("/contact"),
}


def _console_sign_in_with_an_error(page, w):
    page.goto(w.base + "/admin/sign-in")
    page.fill("#email", new_email("audit-nobody"))
    page.fill("#password", "not the password at all")
    _submit(page)
    assert page.locator("#password[aria-invalid=true]").count() == 1


def _console_setup_link(page, w):
    from chalicelib import operators

    link = operators.add(new_email("audit-operator-link"))["setup_url"]
    page.goto(w.base + link[link.index("/admin/setup"):])
    assert page.locator("#admin-setup").count() == 1


def _console_setup_second_factor(page, w):
    _console_setup_link(page, w)
    page.fill("#password", OPERATOR_PASSWORD)
    _submit(page)
    assert page.locator("#totp-secret").count() == 1 and page.locator("#admin-passkey").count() == 1


def _console_second_factor_with_an_error(page, w):
    page.goto(w.base + "/admin/sign-in")
    page.fill("#email", w.operator_email)
    page.fill("#password", OPERATOR_PASSWORD)
    _submit(page)
    page.fill("#code", "000000")
    _submit(page, "#admin-code button[type=submit]")
    assert page.locator("#code[aria-invalid=true]").count() == 1


def _console_promotion_with_an_error(page, w):
    partner_id, _ = new_partner("Audit review shop")
    promotion = promotions.create("partner", "A toner deal for the review", "Half price.\nThis week.",
                                  '<p>Half price, <a href="https://shop.example/">here</a>.</p>',
                                  partner_id=partner_id)
    page.goto(f"{w.base}/admin/promotions/{promotion.promotion_id}")
    _submit(page, "#reject button[type=submit]")
    assert page.locator("#reason[aria-invalid=true]").count() == 1


def _console_ad(page, w):
    from chalicelib import ads

    slot = ads.declare_slot("audit-" + new_email("s").split("-")[2][:8]).slot
    ad = ads.create_ad(slot=slot, title="A lamp for the audit", body="With a long line of text "
                       "under the title", target_url="https://lamps.example/desk",
                       image_url="https://lamps.example/lamp.png")
    page.goto(f"{w.base}/admin/ads/{ad.ad_id}")
    assert page.locator("#ad-preview .ad").count() == 1


def _console_ads_with_an_error(page, w):
    page.goto(w.base + "/admin/ads")
    page.fill("#ad-create #title", "A lamp")
    page.fill("#ad-create #target_url", "javascript:alert(1)")
    _submit(page, "#ad-create button[type=submit]")
    assert page.locator("#target_url[aria-invalid=true]").count() == 1


def _console_partner_key(page, w):
    page.goto(w.base + "/admin/partners")
    page.fill("#partner-create #name", "Audit paper " + new_email("p")[:10])
    page.fill("#partner-create #landing_url", "https://paper.example/audit")
    _submit(page, "#partner-create button[type=submit]")
    assert page.locator("#api-key").count() == 1


def _console_partner_with_an_error(page, w):
    page.goto(f"{w.base}/admin/partners/{w.partner_id}")
    page.fill("#partner-edit #landing_url", "http://not-https.example/")
    _submit(page, "#partner-edit button[type=submit]")
    assert page.locator("#landing_url[aria-invalid=true]").count() == 1


def _console_member_not_found(page, w):
    page.goto(w.base + "/admin/members")
    page.fill("#email", new_email("audit-nobody"))
    _submit(page, "#member-lookup button[type=submit]")
    assert page.locator("#email[aria-invalid=true]").count() == 1


def _console_member(page, w):
    page.goto(w.base + "/admin/members")
    page.fill("#email", w.email)
    _submit(page, "#member-lookup button[type=submit]")
    assert page.locator("#consent-history li").count() >= 2


def _console_member_erase_with_an_error(page, w):
    _console_member(page, w)
    page.fill("#confirm_email", "not the address")
    _submit(page, "#member-erase button[type=submit]")
    assert page.locator("#confirm_email[aria-invalid=true]").count() == 1


def _console_promotion_in_progress(page, w):
    partner_id, _ = new_partner("Audit progress shop")
    promotion = promotions.create("partner", "A paper deal, sent", "Two for one.",
                                  partner_id=partner_id)
    promotions.approve(promotion.promotion_id)
    promotions.dispatch(promotion.promotion_id, send=lambda *_: None)  # planned, none sent yet
    page.goto(f"{w.base}/admin/promotions/{promotion.promotion_id}?done=queued")
    assert page.locator("#send-progress").count() == 1


def _console_approve_forecast(page, w):
    from datetime import datetime, timedelta, timezone

    partner_id, _ = new_partner("Audit approve shop")
    promotion = promotions.create("partner", "A chair deal to approve", "Chairs, half price.",
                                  partner_id=partner_id)
    later = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{w.base}/admin/promotions/{promotion.promotion_id}/approve?when=later&send_at={later}")
    assert page.locator("#approve-confirm").count() == 1


def _console_schedule_with_an_error(page, w):
    partner_id, _ = new_partner("Audit schedule shop")
    promotion = promotions.create("partner", "A desk deal", "Desks.", partner_id=partner_id)
    page.goto(f"{w.base}/admin/promotions/{promotion.promotion_id}")
    page.check("#when-later")
    page.fill("#send_at", "2020-01-01T09:00")
    _submit(page, "#approve button[type=submit]")
    assert page.locator("#send_at[aria-invalid=true]").count() == 1


def _console_message(page, w):
    writer = new_email("audit-writer")
    members.contact.submit(writer, "privacy", "What do you keep about me?\n"
                           "A long line to wrap: " + "x" * 120, "audit-client-" + writer)
    [message] = members.messages.of_address(writer)
    page.goto(f"{w.base}/admin/messages/{message['id']}?done=read")
    assert page.locator("#message-text").count() == 1


def _console_report_with_an_error(page, w):
    page.goto(w.base + "/admin/reports?from=2021-03-05&to=2021-03-01")
    assert page.locator("#from[aria-invalid=true]").count() == 1


# The console, as a visitor of it (no operator session) ...
CONSOLE_PAGES = {
    "console sign-in": _go("/admin/sign-in"),
    "console sign-in with a field error": _console_sign_in_with_an_error,
    "console set-up link": _console_setup_link,
    "console set-up with a bad link": _go("/admin/setup?token=op_x.not-a-link"),
    "console set-up: second factor": _console_setup_second_factor,
    "console second step with a field error": _console_second_factor_with_an_error,
}
# ... and signed in (the context's operator, set up in the browser first).
OPERATOR_PAGES = {
    "console today": _go("/admin"),
    "console audit log": _go("/admin/audit"),
    "console audit log, an empty day": _go("/admin/audit?day=2020-01-01"),
    "console confirm before a dangerous action": _go("/admin/confirm?next=audit"),
    "console promotion review with a field error": _console_promotion_with_an_error,
    "console review queue": _go("/admin/promotions"),
    "console ads": _go("/admin/ads"),
    "console ads with a field error": _console_ads_with_an_error,
    "console ad with its preview": _console_ad,
    "console partners": _go("/admin/partners"),
    "console partner": _go("/admin/partners/{w.partner_id}"),
    "console partner with a field error": _console_partner_with_an_error,
    "console partner's new key": _console_partner_key,
    "console members": _go("/admin/members"),
    "console member not found": _console_member_not_found,
    "console member": _console_member,
    "console member erasure with a field error": _console_member_erase_with_an_error,
    "console promotion being sent": _console_promotion_in_progress,
    "console approve with the quota forecast": _console_approve_forecast,
    "console schedule with a field error": _console_schedule_with_an_error,
    "console messages": _go("/admin/messages"),
    "console message": _console_message,
    "console report": _go("/admin/reports"),
    "console report with a field error": _console_report_with_an_error,
}


def _audit(page, w, pages: dict) -> list:
    problems = []
    for name, visit in pages.items():
        visit(page, w)
        if page.locator("body > a.skip-link[href='#main']:first-child").count() != 1 or \
                page.locator("main#main").count() != 1:
            problems.append(f"{name} ({page.url}) has no skip link to its main content first")
        open_every_details(page)
        overflow = horizontal_overflow(page)
        if overflow:
            problems.append(f"{name} ({page.url}) scrolls sideways: {overflow}")
        violations = axe_violations(page)
        if violations:
            problems.append(f"{name} ({page.url}):\n{describe(violations)}")
    return problems


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_page_passes_axe_and_fits_the_screen(world, chromium, width):
    problems = []
    # bypass_csp: this audit only, so that axe-core can be injected into the pages; the
    # product's CSP (no inline or foreign script) stays in force in every other test.
    for signed_in, pages in ((False, VISITOR_PAGES), (True, MEMBER_PAGES)):
        context = chromium.new_context(viewport=VIEWPORTS[width], bypass_csp=True)
        try:
            if signed_in:
                log_in(context, world.base, world.email)
            problems += _audit(context.new_page(), world, pages)
        finally:
            context.close()
    assert not problems, f"at {width}:\n" + "\n".join(problems)


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_every_console_page_passes_axe_and_fits_the_screen(world, chromium, width):
    problems = []
    context = chromium.new_context(viewport=VIEWPORTS[width], bypass_csp=True)
    try:
        page = context.new_page()
        w = world
        w.operator_email = new_email("audit-operator")
        set_up_operator_with_app(page, w.base, w.operator_email)
        problems += _audit(page, w, {"console recovery codes": lambda page, w: None})
        problems += _audit(page, w, OPERATOR_PAGES)
    finally:
        context.close()
    context = chromium.new_context(viewport=VIEWPORTS[width], bypass_csp=True)
    try:
        problems += _audit(context.new_page(), world, CONSOLE_PAGES)
    finally:
        context.close()
    assert not problems, f"at {width}:\n" + "\n".join(problems)


def test_the_audit_sees_the_account_page_full(world, chromium):
    """The account page audited above holds what makes it wide: tables and the history."""
    context = chromium.new_context(viewport=VIEWPORTS["390px"])
    try:
        log_in(context, world.base, world.email)
        page = context.new_page()
        page.goto(world.base + "/account")
        for table in ("#referral-clicks", "#partner-transactions", "#partner-contacts"):
            assert page.locator(table).count() == 1, table
        assert "AUDIT-0001-WITH-A-LONG-ORDER-NUMBER" in page.locator("#partner-transactions").inner_text()
        assert page.locator("#consent-history li").count() >= 2
    finally:
        context.close()
