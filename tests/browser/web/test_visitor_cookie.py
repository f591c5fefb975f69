"""A real browser (Debian Chromium) against chalice local: cookies and pages as users see them."""
from chalicelib.web.cookies import VISITOR_COOKIE


def test_browser_stores_the_visitor_cookie_host_only_and_sends_it_back(app_server, browser_context):
    page = browser_context.new_page()
    first = page.goto(app_server.url + "/")
    assert first.status == 200
    assert VISITOR_COOKIE in (first.header_value("set-cookie") or "")

    stored = [c for c in browser_context.cookies() if c["name"] == VISITOR_COOKIE]
    assert len(stored) == 1
    cookie = stored[0]
    assert cookie["domain"] == "127.0.0.1"  # host-only: no Domain attribute, no leading dot
    assert cookie["path"] == "/"
    assert cookie["secure"] is True and cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert 364 * 86400 < cookie["expires"] - __import__("time").time() <= 365 * 86400

    # The browser sends it back, so the server keeps it and issues no new one.
    second = page.goto(app_server.url + "/privacy")
    assert second.status == 200
    assert VISITOR_COOKIE not in (second.header_value("set-cookie") or "")
    sent = second.request.header_value("cookie") or ""
    assert f"{VISITOR_COOKIE}={cookie['value']}" in sent
    assert [c["value"] for c in browser_context.cookies() if c["name"] == VISITOR_COOKIE] == [
        cookie["value"]]


def test_scripts_cannot_read_the_visitor_cookie(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/")
    assert VISITOR_COOKIE not in page.evaluate("document.cookie")


def test_privacy_page_renders_for_a_reader(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/privacy")
    assert page.title() == "Privacy policy · eSO"
    assert page.locator("h1").inner_text() == "Privacy Policy"
    headings = page.locator("h2").all_inner_texts()
    assert "Information Requests" in headings
    assert page.get_by_text("Contact me with special offers and services").count() >= 1
    # The stylesheet loaded under the page's Content-Security-Policy.
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"


def test_home_page_cookie_notice_links_to_the_policy(app_server, browser_context):
    page = browser_context.new_page()
    page.goto(app_server.url + "/")
    page.locator(".cookie-notice a").click()
    page.wait_for_url("**/privacy")
    assert page.locator("h1").inner_text() == "Privacy Policy"


def test_the_icon_comes_inside_the_page_and_nothing_breaks_the_csp(app_server, browser_context):
    page = browser_context.new_page()
    problems, requested = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requested.append(r.url))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
    page.goto(app_server.url + "/")
    href = page.locator('link[rel="icon"]').get_attribute("href")
    assert href.startswith("data:image/svg+xml,")
    # The icon decodes as an image under the page's own policy (img-src), with no request.
    size = page.evaluate("""href => new Promise((ok, fail) => {
        const img = new Image(); img.onload = () => ok([img.naturalWidth, img.naturalHeight]);
        img.onerror = () => fail(new Error('icon refused')); img.src = href; })""", href)
    assert size[0] > 0 and size[1] > 0
    page.wait_for_load_state("networkidle")
    assert not [u for u in requested if "favicon" in u]
    assert problems == []
