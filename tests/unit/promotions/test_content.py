"""A promotion's links: found in its text and HTML, rewritten to /r/ only where stored."""
import pytest

from chalicelib.promotions import content


@pytest.mark.parametrize("text, links", [
    ("See https://shop.example/a.", ["https://shop.example/a"]),
    ("(https://shop.example/b), then HTTP://SHOP.example/C!", ["https://shop.example/b",
                                                              "HTTP://SHOP.example/C"]),
    ("https://en.wikipedia.org/wiki/Toner_(printing) is", [
        "https://en.wikipedia.org/wiki/Toner_(printing)"]),
    ("Write to sales@shop.example or ftp://files.example/x", []),
    ('"https://shop.example/q?a=1&b=2"', ["https://shop.example/q?a=1&b=2"]),
])
def test_links_written_in_text_are_found_without_the_sentence_around_them(text, links):
    assert content.text_links(text) == links


def test_html_links_are_the_web_targets_of_anchors_unescaped():
    html = ('<p><a href="https://shop.example/x?a=1&amp;b=2">x</a> <a href="mailto:s@shop.example">'
            'm</a> <a href="javascript:alert(1)">j</a> <q cite="https://shop.example/q">q</q></p>')
    assert content.html_links(html) == ["https://shop.example/x?a=1&b=2"]


def test_each_target_is_one_link_in_order_of_first_appearance():
    found = content.find_links([content.Content("s", "https://a.example/1 https://a.example/2",
                                                '<a href="https://a.example/2">2</a>'),
                                content.Content("s", "https://a.example/3 https://a.example/1",
                                                None)])
    assert found == ["https://a.example/2", "https://a.example/1", "https://a.example/3"]


def test_only_stored_targets_are_rewritten():
    links = ["https://a.example/1"]
    url_for = "https://eso.example/r/T{}".format
    text = "Go: https://a.example/1. Not https://a.example/2"
    assert content.rewrite_text(text, links, url_for) == (
        "Go: https://eso.example/r/T0. Not https://a.example/2")
    html = ('<p><a href="https://a.example/1">1</a> <a href="https://a.example/2">2</a> '
            '<a href="mailto:x@a.example">m</a></p>')
    rewritten = content.rewrite_html(html, links, url_for)
    assert 'href="https://eso.example/r/T0"' in rewritten
    assert 'href="https://a.example/2"' in rewritten and 'href="mailto:x@a.example"' in rewritten
    assert "https://a.example/1" not in rewritten


def test_a_variant_says_its_own_fields_and_the_promotions_for_the_rest():
    class Variant:
        def __init__(self, subject=None, text=None, html=None):
            self.subject, self.text, self.html = subject, text, html

    class Promotion:
        subject, text, html = "Base", "Base text", "<p>Base</p>"
        variants = [Variant(subject="A"), Variant(text="B text", html="<p>B</p>")]

    assert content.variant_content(Promotion, 0) == ("A", "Base text", "<p>Base</p>")
    assert content.variant_content(Promotion, 1) == ("Base", "B text", "<p>B</p>")
    assert content.variant_content(Promotion) == ("Base", "Base text", "<p>Base</p>")
    assert content.variant_count(Promotion) == 2
