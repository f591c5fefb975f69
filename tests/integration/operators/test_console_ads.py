"""Ads in the console (/admin/ads) through the in-process app and DynamoDB Local: adding,
editing, scheduling, disabling and enabling an ad and seeing what the site serves; slots no
page shows are refused; the preview is the site's markup and counts nothing; today's figures
follow the K rule; every action is in the audit log; every POST needs its form token and this
site's Origin."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from app import app
from chalicelib import ads, partners
from chalicelib.platform import clock
from chalicelib.statistics import counters
from tests.integration.console_helpers import (
    actions_about,
    audit_about,
    location_id,
    new_visitor,
    posts_under,
)
from tests.integration.operator_helpers import Browser, set_up_with_totp
from tests.integration.partner_helpers import new_partner

pytestmark = pytest.mark.usefixtures("stack")


def new_slot() -> str:
    return ads.declare_slot("c-" + uuid.uuid4().hex[:12], "a console test's own").slot


def ad_form(slot: str, **fields) -> dict:
    return {"slot": slot, "title": "Toner for less", "body": "Cartridges, this week",
            "target_url": "https://toner.example/deal", "image_url": "", "partner_id": "",
            "weight": "1", "frequency_cap": "5", "starts_at": "", "ends_at": "", **fields}


def add_ad(browser: Browser, slot: str, **fields) -> str:
    return location_id(browser.form("/admin/ads", ad_form(slot, **fields)), "/admin/ads/")


def served(client, slot: str):
    """What a new visitor gets from the slot: the ad's JSON, or None (204)."""
    answer = client.http.get(f"/api/v1/ads/next?slot={slot}", headers=new_visitor())
    assert answer.status_code in (200, 204), answer.body
    return answer.json_body["ad"] if answer.status_code == 200 else None


def edit_form(ad_id: str, **changes) -> dict:
    ad = ads.get_ad(ad_id)
    return {"slot": ad.slot, "title": ad.title, "body": ad.body or "",
            "target_url": ad.target_url, "image_url": ad.image_url or "", "weight": str(ad.weight),
            "frequency_cap": str(ad.frequency_cap),
            "starts_at": ad.starts_at.strftime("%Y-%m-%d %H:%M") if ad.starts_at else "",
            "ends_at": ad.ends_at.strftime("%Y-%m-%d %H:%M") if ad.ends_at else "", **changes}


@pytest.fixture
def operator(client):
    return set_up_with_totp(client)


def test_an_ad_added_edited_disabled_and_enabled_in_the_console_is_served_so(client, operator):
    browser, slot = operator["browser"], new_slot()
    ad_id = add_ad(browser, slot, title="Toner for less")
    assert served(client, slot)["title"] == "Toner for less"
    assert ads.get_ad(ad_id).target_url == "https://toner.example/deal"

    edited = browser.form(f"/admin/ads/{ad_id}", edit_form(ad_id, title="Toner for even less",
                                                          weight="7", frequency_cap="3"))
    assert edited.status_code == 303 and edited.headers["Location"].endswith("?done=edited")
    assert served(client, slot)["title"] == "Toner for even less"
    stored = ads.get_ad(ad_id)
    assert (stored.weight, stored.frequency_cap) == (7, 3)

    assert browser.form(f"/admin/ads/{ad_id}/disable", {}).status_code == 303
    assert served(client, slot) is None
    assert "disabled" in browser.get(f"/admin/ads/{ad_id}").body.decode()
    assert browser.form(f"/admin/ads/{ad_id}/enable", {}).status_code == 303
    assert served(client, slot)["id"] == ad_id

    assert actions_about(ad_id) == ["ad_created", "ad_disabled", "ad_edited", "ad_enabled"]
    entries = {e["action"]: e for e in audit_about(ad_id)}
    assert entries["ad_created"]["detail"] == {"slot": slot}
    assert entries["ad_edited"]["detail"] == {"fields": "frequency_cap title weight"}
    assert all(e["actor"] == operator["operator_id"] for e in entries.values())


def test_an_ad_added_to_the_home_slot_is_on_the_home_page(client, operator):
    browser = operator["browser"]
    title = "Home page chairs " + uuid.uuid4().hex[:6]
    ad_id = add_ad(browser, "home", title=title)
    try:
        live = [a for a in ads.list_ads("home") if a.state(int(clock.now().timestamp() * 1000)) == "active"]
        visitor = new_visitor()
        # A visitor meets every eligible ad of a slot before any comes back: within as many
        # pages as there are live ads.
        pages = [client.http.get("/", headers=visitor).body.decode() for _ in range(len(live))]
        assert any(f'data-ad-id="{ad_id}"' in page and title in page for page in pages)
    finally:
        browser.form(f"/admin/ads/{ad_id}/disable", {})


def test_a_slot_no_page_shows_is_refused(client, operator):
    browser, nowhere = operator["browser"], "c-" + uuid.uuid4().hex[:12]
    refused = browser.form("/admin/ads", ad_form(nowhere))
    body = refused.body.decode()
    assert refused.status_code == 400 and "is not declared" in body and "home" in body
    assert 'id="slot" name="slot" aria-invalid="true"' in body
    assert ads.list_ads(nowhere) == []

    slot = new_slot()
    ad_id = add_ad(browser, slot)
    moved = browser.form(f"/admin/ads/{ad_id}", edit_form(ad_id, slot=nowhere))
    assert moved.status_code == 400 and ads.get_ad(ad_id).slot == slot
    assert actions_about(ad_id) == ["ad_created"]


@pytest.mark.parametrize("target", ["javascript:alert(1)", "ftp://toner.example/", "toner.example",
                                    "https://", "https://toner.example/a b"])
def test_a_target_is_checked_as_the_cli_checks_it(client, operator, target):
    slot = new_slot()
    refused = operator["browser"].form("/admin/ads", ad_form(slot, target_url=target))
    assert refused.status_code == 400
    assert 'id="target_url" name="target_url"' in refused.body.decode()
    assert 'aria-invalid="true"' in refused.body.decode()
    assert ads.list_ads(slot) == []


def test_scheduling_an_ad(client, operator):
    browser, slot = operator["browser"], new_slot()
    later = datetime.now(timezone.utc) + timedelta(days=2)
    ad_id = add_ad(browser, slot, starts_at=later.strftime("%Y-%m-%d %H:%M"))
    assert served(client, slot) is None
    assert re.search(r'id="ad-state">scheduled<', browser.get(f"/admin/ads/{ad_id}").body.decode())

    backwards = browser.form(f"/admin/ads/{ad_id}", edit_form(
        ad_id, ends_at=(later - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")))
    assert backwards.status_code == 400 and 'id="ends_at" name="ends_at"' in backwards.body.decode()
    assert ads.get_ad(ad_id).ends_at is None

    now = browser.form(f"/admin/ads/{ad_id}", edit_form(ad_id, starts_at="",
                                                        ends_at=later.strftime("%Y-%m-%d %H:%M")))
    assert now.status_code == 303
    assert served(client, slot)["id"] == ad_id
    stored = ads.get_ad(ad_id)
    assert stored.starts_at is None and stored.ends_at == later.replace(second=0, microsecond=0)
    unchanged = browser.form(f"/admin/ads/{ad_id}", edit_form(ad_id))
    assert unchanged.headers["Location"].endswith("?done=unchanged")


def test_a_partners_ad_goes_through_its_referral_link_and_previews_its_landing_page(client, operator):
    partner_id, _ = new_partner("Chairs for ads")
    slot = new_slot()
    ad_id = add_ad(operator["browser"], slot, partner_id=partner_id)
    assert ads.get_ad(ad_id).partner_id == partner_id
    click = client.http.get(served(client, slot)["click_url"], headers=new_visitor())
    assert click.headers["Location"] == f"/go/{partner_id}"
    page = operator["browser"].get(f"/admin/ads/{ad_id}").body.decode()
    landing = partners.get(partner_id).landing_url
    assert f'class="ad-title" href="{landing.replace("&", "&amp;")}"' in page


def test_the_preview_is_the_sites_markup_and_counts_nothing(client, operator):
    browser, slot = operator["browser"], new_slot()
    ad_id = add_ad(browser, slot, title="Preview <b>me</b>",
                   image_url="https://toner.example/cartridge.png")
    day = clock.today()
    for _ in range(3):
        page = browser.get(f"/admin/ads/{ad_id}").body.decode()
    preview = page.split('id="ad-preview"', 1)[1].split("</section>", 1)[0]
    site_ad = re.search(r'<div class="ad" data-ad-id="[^"]+">.*?</div>\s*</div>',
                        preview, re.S).group(0)
    assert 'href="https://toner.example/deal"' in site_ad and "Preview &lt;b&gt;me&lt;/b&gt;" in site_ad
    assert '<img src="https://toner.example/cartridge.png" alt="">' in site_ad
    assert f"/ads/{ad_id}/click" not in page and "data-slot=" not in preview  # nothing to count
    assert sum(counters.daily("ad_impressions", day, day, dimension=ad_id).values()) == 0
    assert sum(counters.daily("ad_clicks", day, day, dimension=ad_id).values()) == 0

    # The home page draws the same markup for the same ad.
    home = re.search(r'<div class="ad" data-ad-id="[^"]+">.*?</div>\s*</div>',
                     _home_page_with(client, ads.get_ad(ad_id)), re.S).group(0)
    assert home == site_ad.replace('href="https://toner.example/deal"',
                                   f'href="/ads/{ad_id}/click"')


def _home_page_with(client, ad) -> str:
    from chalicelib.platform.templates import render_text

    return render_text("index.html", ad=ad, ad_slot=ad.slot, member=False, csrf_token="x")


def test_the_list_shows_each_slots_ads_with_state_and_todays_figures_under_k(client, operator):
    browser, slot = operator["browser"], new_slot()
    ad_id = add_ad(browser, slot)

    def row() -> str:
        body = browser.get("/admin/ads").body.decode()
        return re.search(rf'<tr data-ad-id="{ad_id}">.*?</tr>', body, re.S).group(0)

    assert '<td class="ad-impressions">0</td>' in row() and '<td class="ad-state">active</td>' in row()
    ad = served(client, slot)
    client.http.get(ad["click_url"], headers=new_visitor())
    assert '<td class="ad-impressions">&lt;10</td>' in row()
    assert '<td class="ad-clicks">&lt;10</td>' in row()
    for _ in range(9):
        served(client, slot)
    assert '<td class="ad-impressions">10</td>' in row()
    browser.form(f"/admin/ads/{ad_id}/disable", {})
    assert '<td class="ad-state">disabled</td>' in row()


def test_a_missing_ad_is_404_and_bad_numbers_are_refused(client, operator):
    browser, slot = operator["browser"], new_slot()
    assert browser.get("/admin/ads/ad-nosuchad").status_code == 404
    assert browser.form("/admin/ads/ad-nosuchad/enable", {}).status_code == 404
    for field, value in (("weight", "0"), ("weight", "heavy"), ("frequency_cap", "51"),
                         ("weight", "²"), ("weight", "１２"), ("frequency_cap", "①"),
                         ("starts_at", "next tuesday"), ("starts_at", "0001-01-01T00:00+01:00"),
                         ("ends_at", "9999-12-31T23:59-01:00"), ("starts_at", "1999-12-31"),
                         ("target_url", "https://[::1"), ("target_url", "https://[zz]/")):
        refused = browser.form("/admin/ads", ad_form(slot, **{field: value}))
        assert refused.status_code == 400, (field, value)
        assert f'id="{field}" name="{field}"' in refused.body.decode()
    assert ads.list_ads(slot) == []


AD_POSTS = posts_under(app, "/admin/ads")


def test_every_ads_post_is_covered_below():
    assert AD_POSTS == ["/admin/ads", "/admin/ads/{ad_id}", "/admin/ads/{ad_id}/disable",
                        "/admin/ads/{ad_id}/enable"]


@pytest.mark.parametrize("route", AD_POSTS)
def test_every_ads_post_needs_its_token_and_this_sites_origin(client, operator, route):
    slot = new_slot()
    ad_id = add_ad(operator["browser"], slot)
    before = ads.get_ad(ad_id)
    path = route.replace("{ad_id}", ad_id)
    fields = ad_form(slot, title="Changed")
    for origin in ("https://evil.example", None):
        foreign = Browser(client, send_origin=origin)
        foreign.admin, foreign.vid = operator["browser"].admin, operator["browser"].vid
        answer = foreign.form(path, fields)
        assert answer.status_code == 403, (route, origin)
    tokenless = client.http.post(path, body=b"title=Changed&slot=" + slot.encode(),
                                 headers=operator["browser"].headers(
                                     content_type="application/x-www-form-urlencoded"))
    assert tokenless.status_code == 403
    assert ads.get_ad(ad_id) == before and len(ads.list_ads(slot)) == 1
    assert actions_about(ad_id) == ["ad_created"]
