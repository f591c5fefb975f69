"""The home page ad slot in Debian Chromium against chalice local, as a visitor sees it."""
from __future__ import annotations

import json
import time

import pytest
import requests

from chalicelib import ads
from chalicelib.ads import rotation
from chalicelib.ops import demo


@pytest.fixture(scope="module")
def home_ads(stack, app_server):
    """The demo ads of the home slot (the home page shows that slot), once the app server
    serves them: it keeps a slot's ads for 30 s, and an earlier test's page may have left
    it holding the slot as it was before they were added."""
    demo.seed()
    live = sorted(ad.ad_id for ad in ads.list_ads("home") if ad.active)
    assert len(live) >= 3
    deadline = time.monotonic() + rotation.CACHE_SECONDS + 10
    while not _shows_one_of(app_server, live):
        assert time.monotonic() < deadline, "the home page shows none of the slot's ads"
        time.sleep(1)
    return live


def _shows_one_of(app_server, ad_ids) -> bool:
    page = requests.get(app_server.url + "/", timeout=10).text
    return any(f'data-ad-id="{ad_id}"' in page for ad_id in ad_ids)


def shown_ad(page) -> str:
    return page.locator(".ad-slot .ad").get_attribute("data-ad-id")


def test_reloading_the_home_page_walks_through_the_ads_without_repeats(
        app_server, browser_context, home_ads):
    page = browser_context.new_page()
    shown = []
    page.goto(app_server.url + "/")
    shown.append(shown_ad(page))
    for _ in range(len(home_ads) - 1):
        page.reload()
        shown.append(shown_ad(page))
    assert sorted(shown) == home_ads  # every ad once, none twice
    page.reload()
    assert shown_ad(page) == shown[0]  # then the one seen longest ago


def test_the_ad_is_there_without_javascript(app_server, chromium, home_ads):
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(app_server.url + "/")
        assert shown_ad(page) in home_ads
        title = page.locator(".ad-slot .ad-title")
        assert title.get_attribute("href") == f"/ads/{shown_ad(page)}/click"
        assert page.locator(".ad-slot .ad-next").is_hidden()  # the button needs JavaScript
    finally:
        context.close()


def test_show_another_ad_replaces_it_without_a_reload(app_server, browser_context, home_ads):
    page = browser_context.new_page()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(app_server.url + "/")
    page.evaluate("window.__samePage = true")
    seen = [shown_ad(page)]
    for _ in range(len(home_ads) - 1):
        page.locator(".ad-slot .ad-next").click()
        page.wait_for_function("(old) => document.querySelector('.ad-slot .ad')?.dataset.adId "
                               "!== old", arg=seen[-1])
        seen.append(shown_ad(page))
    assert sorted(seen) == home_ads
    assert page.evaluate("window.__samePage") is True  # no navigation happened
    assert not errors  # nothing blocked by the Content-Security-Policy


def test_an_ad_click_leaves_through_the_click_route(app_server, browser_context, home_ads):
    page = browser_context.new_page()
    page.goto(app_server.url + "/")
    ad_id = shown_ad(page)
    # The shown ad may be another test's (the slot is shared): leave for its own target.
    target = {ad.ad_id: ad.target_url for ad in ads.list_ads("home")}[ad_id]
    page.route(lambda url: not url.startswith(app_server.url),
               lambda route: route.fulfill(body="landing"))
    with page.expect_request(lambda request: request.url == target) as leaving:
        page.locator(".ad-slot .ad-title").click()
    assert leaving.value.redirected_from.url == f"{app_server.url}/ads/{ad_id}/click"


def test_what_the_api_says_is_shown_as_text_never_as_html(app_server, browser_context, home_ads):
    page = browser_context.new_page()
    page.goto(app_server.url + "/")
    evil = {"ad": {"id": "ad-evil", "slot": "home", "title": "<img src=x onerror=alert(1)>",
                   "body": "<b>bold</b>", "image_url": "javascript:alert(1)",
                   "click_url": "javascript:alert(1)"}}
    page.route("**/api/v1/ads/next*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(evil)))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.locator(".ad-slot .ad-next").click()
    page.wait_for_selector(".ad-slot .ad[data-ad-id='ad-evil']")
    assert page.locator(".ad-slot .ad-title").inner_text() == evil["ad"]["title"]
    assert page.locator(".ad-slot .ad-body").inner_text() == "<b>bold</b>"
    assert page.locator(".ad-slot .ad img").count() == 0  # not an http(s) image: left out
    assert page.locator(".ad-slot .ad-title").get_attribute("href") == "/ads/ad-evil/click"
    assert not dialogs
