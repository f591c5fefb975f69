"""In Chromium: a member chooses topics and how often on /account, pauses every promotion and
ends the pause; a pause link from an e-mail works without signing in; registration under
Global Privacy Control leaves the topics unticked."""
import uuid

import pytest

from chalicelib import members, promotions
from chalicelib.members.models import EmailClaim, Member
from tests.browser.helpers import log_in
from tests.integration.helpers import PASSWORD, new_email
from tests.integration.promotion_helpers import make_member


@pytest.fixture(scope="module")
def topics(app_server):
    tag = uuid.uuid4().hex[:6]
    return [members.topics.add_topic(f"Browser {name} {tag}") for name in ("chairs", "cloud")]


def test_a_member_chooses_topics_and_frequency_then_pauses_and_ends_the_pause(
        app_server, browser_context, mailbox, topics):
    chairs, cloud = topics
    email, member_id = make_member(mailbox, tag="browser-prefs")
    log_in(browser_context, app_server.url, email)
    page = browser_context.new_page()
    page.goto(app_server.url + "/account")
    assert page.get_by_label(chairs.name).is_checked()       # every topic on at first
    assert page.get_by_label("At most one a week").is_checked()  # the usual limit

    page.get_by_label(chairs.name).uncheck()
    page.get_by_label("At most one a month").check()
    page.get_by_role("button", name="Save topics and frequency").click()
    page.wait_for_url("**/account?done=preferences-saved")
    assert page.locator("main [role=status]").inner_text().startswith("Saved: your topics")
    assert not page.get_by_label(chairs.name).is_checked()
    assert page.get_by_label(cloud.name).is_checked()
    assert page.get_by_label("At most one a month").is_checked()
    member = Member.get(member_id, consistent_read=True)
    assert set(member.topics_off) == {chairs.topic_id} and member.promotion_frequency == "month"

    page.get_by_role("button", name="Pause for 2 weeks").click()
    page.wait_for_url("**/account?done=snoozed")
    assert "Paused: no promotions" in page.locator("#snooze-state").inner_text()
    assert Member.get(member_id, consistent_read=True).snoozed_until is not None
    page.get_by_role("button", name="End the pause now").click()
    page.wait_for_url("**/account?done=snooze-ended")
    assert "Paused" not in page.locator("#snooze-state").inner_text()
    assert Member.get(member_id, consistent_read=True).snoozed_until is None

    page.get_by_text("History of your choices").click()
    history = page.locator("#consent-history").inner_text()
    for said in (f"You turned the topic “{chairs.name}” of partner promotions off in your account.",
                 "You chose at most one a month for partner promotions in your account.",
                 "You paused every promotion until", "You ended the pause of promotions"):
        assert said in history, history


def test_a_pause_link_from_an_e_mail_works_without_signing_in(app_server, browser_context,
                                                             mailbox):
    _, member_id = make_member(mailbox, tag="browser-pause-link")
    page = browser_context.new_page()
    page.goto(f"{app_server.url}/snooze?token={promotions.snooze_token(member_id)}"
              "&period=one_month")
    assert Member.get(member_id, consistent_read=True).snoozed_until is None  # only looking
    buttons = page.locator("#snooze-periods button")
    assert buttons.first.inner_text() == "Pause for 1 month"  # the link's own period first
    buttons.first.click()
    page.locator("#snoozed").wait_for()
    assert "until" in page.locator("#snoozed").inner_text()
    assert Member.get(member_id, consistent_read=True).snoozed_until is not None


def test_registering_under_gpc_leaves_the_topics_unticked(app_server, chromium, mailbox, topics):
    context = chromium.new_context(extra_http_headers={"Sec-GPC": "1"})
    try:
        page = context.new_page()
        page.goto(app_server.url + "/register")
        for topic in topics:
            assert not page.get_by_label(topic.name).is_checked()
        email = new_email("browser-gpc")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_label(topics[1].name).check()
        page.get_by_role("button", name="Register").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Check your inbox"
    finally:
        context.close()
    member = Member.get(EmailClaim.get(email).member_id, consistent_read=True)
    pending = member.pending_registrations[-1]
    assert topics[0].topic_id in pending.topics_off
    assert topics[1].topic_id not in pending.topics_off
