"""Pausing every promotion from the links of a promotional e-mail: the page (GET) changes
nothing, its button or a one-click POST pauses, a forged or altered link is refused; against
DynamoDB Local and the local SES server."""
import re
import urllib.parse

import pytest

from chalicelib import promotions
from chalicelib.members import consent
from chalicelib.members.models import Member
from chalicelib.platform.vocabulary import PARTNER
from tests.integration.partner_helpers import new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def mailed_offer(mailbox, email, member_id):
    offer = promotions.create("offer", unique_subject("Pause me"), "Our offer.")
    assert promotions.send_batch(offer.promotion_id, [member_id]).delivered == 1
    [mail] = received(mailbox, offer, email)
    return mail


def pause_links(mail) -> dict:
    """period → the path of the mail's pause link, from the text part and the HTML part alike."""
    text = {period: path for path, period in
            re.findall(r"(/snooze\?token=[\w.-]+&period=(\w+))", mail["body"]["text"])}
    html = re.findall(r'href="[^"]*(/snooze\?token=[\w.-]+&amp;period=\w+)"', mail["body"]["html"])
    assert sorted(h.replace("&amp;", "&") for h in html) == sorted(text.values())
    return text


def next_promotions(partner_id):
    offer = promotions.create("offer", unique_subject("After the pause"), "Ours again.")
    created = promotions.create(PARTNER, unique_subject("Partner after the pause"), "Theirs.",
                                partner_id=partner_id)
    return offer, promotions.approve(created.promotion_id)


def member(member_id):
    return Member.get(member_id, consistent_read=True)


def test_the_page_of_a_pause_link_changes_nothing_and_its_button_pauses_every_promotion(
        client, mailbox):
    partner_id, _ = new_partner("Paused")
    email, member_id = make_member(mailbox, tag="pause-page")
    links = pause_links(mailed_offer(mailbox, email, member_id))
    assert set(links) == {"two_weeks", "one_month", "three_months"}
    assert email not in links["two_weeks"] and member_id in links["two_weeks"]

    page = client.http.get(links["two_weeks"])          # a link scanner opening it...
    assert page.status_code == 200
    body = page.body.decode()
    assert "Pause for 2 weeks" in body and "Pause for 3 months" in body
    assert member(member_id).snoozed_until is None       # ...changes nothing
    action = re.search(r'<form method="post" action="([^"]+)"', body).group(1)
    assert "period=two_weeks" in action                  # the link's own period comes first

    done = client.http.post(action.replace("&amp;", "&"), body=b"", headers=FORM)
    assert done.status_code == 200 and 'id="snoozed"' in done.body.decode()
    paused = member(member_id)
    assert paused.snoozed_until is not None
    last = consent.history(member_id)[-1]
    assert (last.purpose, last.granted, last.source) == ("snooze", True, "snooze_link")

    offer, partner_promotion = next_promotions(partner_id)
    assert promotions.send_batch(offer.promotion_id, [member_id]) == (0, 1, 0)
    assert promotions.send_batch(partner_promotion.promotion_id, [member_id]) == (0, 1, 0)
    assert received(mailbox, offer, email) == [] == received(mailbox, partner_promotion, email)
    # The consents themselves are untouched: the pause ends on its own.
    assert consent.is_granted(paused, "offers") and consent.is_granted(paused, "partner_promotions")


def test_a_one_click_post_of_the_link_pauses_and_a_link_never_shortens_a_pause(client, mailbox):
    partner_id, _ = new_partner("One click")
    email, member_id = make_member(mailbox, tag="pause-one-click")
    links = pause_links(mailed_offer(mailbox, email, member_id))
    response = client.http.post(links["three_months"], body=b"List-Unsubscribe=One-Click",
                                headers=FORM)
    assert response.status_code == 200
    until = member(member_id).snoozed_until
    events = len(consent.history(member_id))

    shorter = client.http.post(links["two_weeks"], body=b"", headers=FORM)
    assert shorter.status_code == 200
    assert member(member_id).snoozed_until == until and len(consent.history(member_id)) == events

    offer, partner_promotion = next_promotions(partner_id)
    assert promotions.send_batch(partner_promotion.promotion_id, [member_id]).skipped == 1
    assert promotions.send_batch(offer.promotion_id, [member_id]).skipped == 1
    assert received(mailbox, partner_promotion, email) == [] == received(mailbox, offer, email)


def _swap_member(token, other_id):
    return other_id + token[token.index("."):]


@pytest.mark.parametrize("forge", [
    lambda token, other_id, unsubscribe: _swap_member(token, other_id),   # another member
    lambda token, other_id, unsubscribe: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
    lambda token, other_id, unsubscribe: token.split(".")[0],             # no signature
    lambda token, other_id, unsubscribe: unsubscribe,                     # another link's token
    lambda token, other_id, unsubscribe: "",
    lambda token, other_id, unsubscribe: "x" * 300,
])
def test_a_forged_or_altered_pause_link_is_refused_and_changes_nothing(client, mailbox, forge):
    _, member_id = make_member(mailbox, tag="pause-forged")
    _, other_id = make_member(mailbox, tag="pause-victim")
    token = promotions.snooze_token(member_id)
    forged = forge(token, other_id, promotions.unsubscribe_token(other_id, "offers"))
    before = {m: len(consent.history(m)) for m in (member_id, other_id)}
    path = f"/snooze?token={urllib.parse.quote(forged)}&period=one_month"
    assert client.http.get(path).status_code == 400
    assert client.http.post(path, body=b"", headers=FORM).status_code == 400
    for someone in (member_id, other_id):
        assert member(someone).snoozed_until is None
        assert len(consent.history(someone)) == before[someone]


@pytest.mark.parametrize("period", ["", "forever", "one_year"])
def test_a_genuine_link_with_a_made_up_period_is_refused(client, mailbox, period):
    _, member_id = make_member(mailbox, tag="pause-period")
    token = promotions.snooze_token(member_id)
    response = client.http.post(f"/snooze?token={token}&period={period}", body=b"",
                                headers=FORM)
    assert response.status_code == 400
    assert member(member_id).snoozed_until is None
