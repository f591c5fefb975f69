"""An e-mail's HTML as text for the operator: blocks, lists and links readable."""
import pytest

from chalicelib.ops.html_text import html_to_text


def test_paragraphs_lists_and_links_read_as_text():
    html = ('<h2>Toner week</h2><p>All toner <strong>20% off</strong> &amp; free:'
            ' <a href="https://shop.example/t">see the offer</a>.</p>'
            '<ul><li>Laser</li><li>Inkjet <a href="https://e.example/">https://e.example/</a>'
            '</li></ul><ol><li>one</li><li>two</li></ol><p>Bye<br>Team</p>'
            '<p><a href="mailto:sales@shop.example">sales@shop.example</a></p>')
    assert html_to_text(html) == (
        "Toner week\n\n"
        "All toner 20% off & free: see the offer (https://shop.example/t).\n\n"
        "- Laser\n- Inkjet https://e.example/\n\n"
        "1. one\n2. two\n\n"
        "Bye\nTeam\n\n"
        "sales@shop.example")


@pytest.mark.parametrize("html", [
    "<style>p { color: red }</style><p>Visible</p>",
    "<script>alert(1)</script><p>Visible</p>",
    "<head><title>Hidden</title></head><body><p>Visible</p></body>",
])
def test_what_a_reader_never_sees_is_left_out(html):
    assert html_to_text(html) == "Visible"


def test_a_rule_separates_and_whitespace_collapses():
    assert html_to_text("<p>One\n   two</p><hr><p>Three</p>") == (
        "One two\n\n" + "-" * 40 + "\n\nThree")
