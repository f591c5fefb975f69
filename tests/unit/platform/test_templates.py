"""Template helpers: possessives of names, as a reader expects them."""
import html

import pytest

from chalicelib.platform.templates import possessive, render_text


@pytest.mark.parametrize("name, expected", [
    ("Demo Office Supplies", "Demo Office Supplies'"),
    ("Toner Direct", "Toner Direct's"),
    ("ACME PARTS", "ACME PARTS'"),
    ("eSO", "eSO's"),
])
def test_possessive(name, expected):
    assert possessive(name) == expected


@pytest.mark.parametrize("template", ["email/promotion.txt", "email/promotion.html"])
def test_a_promotion_names_the_policy_of_a_partner_ending_in_s(template):
    class Promotion:
        kind, text = "partner", "Ten per cent off paper."

    mail = render_text(template, promotion=Promotion, body_text=Promotion.text,
                       body_html="<p>Ten per cent off paper.</p>",
                       sender={"name": "Demo Office Supplies",
                               "privacy_policy_url": "https://shop.example/privacy"},
                       purpose_label="partner promotions", base_url="https://eso.example",
                       postal_address="1 Main St")
    read = html.unescape(mail)  # the HTML mail escapes the apostrophe
    assert "Demo Office Supplies' privacy policy" in read
    assert "Supplies's" not in read
