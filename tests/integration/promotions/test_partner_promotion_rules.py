"""What a partner's promotion may carry and when it may go out."""

import pytest

from chalicelib import partners, promotions
from tests.integration.helpers import (
    post_json,
    verified_member,
)
from tests.integration.partner_helpers import bearer, new_partner
from tests.integration.promotion_helpers import make_member, received, unique_subject

pytestmark = pytest.mark.usefixtures("stack")


def test_plain_text_mail_is_not_html_escaped(client, mailbox):
    partner_id, _ = new_partner("Text", contact_email="text-partner@shop.example")
    _, member = verified_member(client, mailbox)
    post_json(client, f"/api/v1/partners/{partner_id}/contact",
              {"message": "Price < 100 & 'fast'"}, headers=member)
    mail = mailbox.wait_for("text-partner@shop.example")[-1]
    assert "Price < 100 & 'fast'" in mail["body"]["text"]
    assert "&lt;" not in mail["body"]["text"] and "&#39;" not in mail["body"]["text"]
    assert "Price &lt; 100 &amp;" in mail["body"]["html"]


def test_a_disabled_partners_promotion_is_not_sent(client, mailbox):
    partner_id, key = new_partner("Disabled")
    wants, _ = make_member(mailbox, partner_promotions=True)
    promotion_id = post_json(client, "/partner/v1/promotions",
                             {"subject": unique_subject("Gone"), "text": "x"},
                             bearer(key)).json_body["promotion"]["id"]
    promotions.approve(promotion_id)
    partners.disable(partner_id)
    promotions.dispatch(promotion_id)
    assert received(mailbox, promotions.get(promotion_id)) == []


def test_a_partner_without_a_privacy_policy_cannot_have_a_promotion_approved(mailbox):
    from chalicelib.platform.errors import ConflictError

    created = partners.create("No policy", "https://shop.example/landing")
    promotion = promotions.create("partner", unique_subject("No policy"), "x",
                                  partner_id=created.partner_id)
    with pytest.raises(ConflictError):
        promotions.approve(promotion.promotion_id)


def test_partner_html_cannot_hide_the_footer_or_track_opens(mailbox):
    promotion = promotions.create(
        "partner", unique_subject("Sneaky"), "x",
        html='<p>Deal</p><img src="https://partner.example/pixel.gif"><div style="display:none"><!--',
        partner_id="p1")
    assert "pixel" not in promotion.html and "style" not in promotion.html
    assert "<!--" not in promotion.html and promotion.html.count("<div>") == promotion.html.count("</div>")
