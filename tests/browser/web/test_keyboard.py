"""With a keyboard alone: a skip link first on every page, and a focus ring one can see."""
import pytest

from tests.browser.helpers import PHONE, log_in
from tests.integration.promotion_helpers import make_member

# The contrast of each focused element's outline with what is behind it (WCAG 2.2: 3:1 for
# focus indicators), with the outline's style and width.
FOCUS_RING = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    let behind = el.parentElement, background = [255, 255, 255];
    while (behind) {
        const c = rgb(getComputedStyle(behind).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) { background = c.slice(0, 3); break; }
        behind = behind.parentElement;
    }
    const [a, b] = [luminance(rgb(style.outlineColor)), luminance(background)].sort((x, y) => y - x);
    return {what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || el.value || '').trim().slice(0, 30),
            style: style.outlineStyle, width: parseFloat(style.outlineWidth),
            contrast: (a + 0.05) / (b + 0.05)};
}"""


@pytest.mark.parametrize("path", ["/", "/register", "/login", "/contact", "/privacy", "/nowhere"])
def test_the_skip_link_comes_first_and_reaches_the_main_content(app_server, chromium, path):
    context = chromium.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(app_server.url + path)
        skip = page.get_by_role("link", name="Skip to main content")
        assert not skip.is_visible() or skip.bounding_box()["y"] < 0   # out of sight until used
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
        box = skip.bounding_box()
        assert box["y"] >= 0 and box["height"] > 0                      # and seen when focused
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null")
    finally:
        context.close()


def test_every_focusable_thing_shows_a_clear_focus_ring(app_server, chromium, mailbox):
    email, _ = make_member(mailbox, tag="focus")
    context = chromium.new_context(viewport=PHONE)
    try:
        log_in(context, app_server.url, email)
        page = context.new_page()
        for path in ("/members", "/account", "/contact", "/"):
            page.goto(app_server.url + path)
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            seen = set()
            for _ in range(60):
                page.keyboard.press("Tab")
                ring = page.evaluate(FOCUS_RING)
                if ring["what"] in seen or ring["what"].startswith("body"):
                    break
                seen.add(ring["what"])
                assert ring["style"] != "none" and ring["width"] >= 2, (path, ring)
                assert ring["contrast"] >= 3, (path, ring)
            assert len(seen) > 5, (path, seen)
    finally:
        context.close()
