"""Ads against DynamoDB Local: the rule with real conditional writes, races, routes, counts, CLI."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import boto3
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import ads
from chalicelib.ads.rotation import DynamoViewStore
from chalicelib.platform import errors
from chalicelib.statistics import counters
from chalicelib.web.cookies import VISITOR_COOKIE
from tests.ads_rules import FakeClock, ad_sets, check_rotation, request_plans, run_plan, server_for
from tests.integration.helpers import cli


def undeclared_slot() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def new_slot() -> str:
    """A freshly declared slot of this test's own."""
    return ads.declare_slot(undeclared_slot()).slot


def new_visitor() -> str:
    return uuid.uuid4().hex[:24]


def add_ads(slot, count, **extra):
    return [ads.create_ad(slot=slot, title=f"Ad {i} of {slot}",
                          target_url=f"https://example.com/{i}", **extra).ad_id
            for i in range(count)]


def next_ad(client, slot, visitor):
    return client.http.get(f"/api/v1/ads/next?slot={slot}",
                           headers={"Cookie": f"{VISITOR_COOKIE}={visitor}"})


def today() -> date:
    return datetime.now(timezone.utc).date()


# --- the rule with the real store ---------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ads_in_slot=ad_sets(), plan=request_plans, seed=st.integers(0, 2**16))
def test_rotation_rule_holds_with_the_dynamodb_store(stack, ads_in_slot, plan, seed):
    clock, slot = FakeClock(), undeclared_slot()
    server = server_for(ads_in_slot, DynamoViewStore(), clock, seed=seed)
    for shown in run_plan(server, clock, plan, slot=slot).values():
        check_rotation(ads_in_slot, shown)


def test_state_past_its_ttl_counts_as_empty_before_dynamodb_deletes_it(stack):
    ads_in_slot = [ads.AdInfo(ad_id="ad-ttl", slot="ttl", title="TTL",
                              target_url="https://example.com/", frequency_cap=1)]
    clock, visitor, slot = FakeClock(), new_visitor(), undeclared_slot()
    server = server_for(ads_in_slot, DynamoViewStore(), clock)
    assert server.next_ad(visitor, slot).ad_id == "ad-ttl"
    store, viewer = DynamoViewStore(), ads.viewer_hash(visitor)
    clock.advance(int(ads.VIEWS_TTL.total_seconds() * 1000) - 1)
    assert set(store.load(viewer, slot, clock.now_ms).seen) == {"ad-ttl"}
    clock.advance(1)
    # At its TTL the item is still stored (deletion lags) but reads as empty; the next write
    # still conditions on its version.
    assert store.load(viewer, slot, clock.now_ms) == ads.Views(version=1, seen={})
    assert server.next_ad(visitor, slot).ad_id == "ad-ttl"
    assert store.load(viewer, slot, clock.now_ms).version == 2


def test_one_visitor_with_many_tabs_at_once_never_breaks_the_rule(stack):
    """Six requests of one visitor load the same version, then all try to save at once."""
    ads_in_slot = [ads.AdInfo(ad_id=f"ad-race{i}", slot="race", title=f"Race {i}",
                              target_url="https://example.com/", frequency_cap=2)
                   for i in range(5)]
    tabs = 6
    barrier = threading.Barrier(tabs)
    conflicts = Counter()

    class RacingStore(DynamoViewStore):
        def save(self, viewer, slot, views, now_ms):
            if views.version == 0 and not barrier.broken:
                try:
                    barrier.wait(timeout=5)  # everyone has read the same (empty) state
                except threading.BrokenBarrierError:
                    pass
            try:
                super().save(viewer, slot, views, now_ms)
            except ads.StaleViewsError:
                conflicts["lost"] += 1
                raise
            [won] = [ad_id for ad_id, entry in views.seen.items()
                     if entry["last"] == views.version + 1]
            wins.append((views.version + 1, won))  # threads may append out of save order

    clock, visitor, slot = FakeClock(), new_visitor(), undeclared_slot()
    server = server_for(ads_in_slot, RacingStore(), clock)
    server.pause = time.sleep
    wins, failures = [], []

    def tab():
        try:
            assert server.next_ad(visitor, slot) is not None
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert conflicts["lost"] >= tabs - 1  # they really raced on the same version
    assert len(wins) == tabs  # 5 ads × cap 2 = 10 ≥ 6: every tab got an ad
    assert [version for version, _ in sorted(wins)] == list(range(1, tabs + 1))
    check_rotation(ads_in_slot, [(clock.now_ms, ad_id) for _, ad_id in sorted(wins)])
    assert sorted(Counter(ad_id for _, ad_id in wins).values()) == [1, 1, 1, 1, 2]
    assert DynamoViewStore().load(ads.viewer_hash(visitor), slot, clock.now_ms).version == tabs


def test_concurrent_http_requests_of_one_visitor_walk_the_slot_without_repeats(app_server):
    """Six tabs of one browser (its limit per host) ask at once; five ads with cap 1 each."""
    slot, visitor = new_slot(), new_visitor()
    created = add_ads(slot, 5, frequency_cap=1)
    barrier = threading.Barrier(6)
    results = []

    def tab():
        barrier.wait(timeout=10)
        response = requests.get(f"{app_server.url}/api/v1/ads/next", params={"slot": slot},
                                cookies={VISITOR_COOKIE: visitor}, timeout=30)
        results.append((response.status_code,
                        response.json()["ad"]["id"] if response.status_code == 200 else None))

    threads = [threading.Thread(target=tab) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results) == [200] * 5 + [204]
    assert sorted(ad_id for _, ad_id in results if ad_id) == sorted(created)  # each once


# --- the HTTP contract --------------------------------------------------------------------------


def test_next_ad_answers_the_exact_shape_and_walks_through_the_slot(stack, client):
    slot, visitor = new_slot(), new_visitor()
    created = add_ads(slot, 3, frequency_cap=2)
    seen = []
    for _ in range(3):
        response = next_ad(client, slot, visitor)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = response.json_body
        assert set(body) == {"ad"}
        assert set(body["ad"]) == {"id", "slot", "title", "body", "image_url", "click_url"}
        assert body["ad"]["slot"] == slot
        assert body["ad"]["click_url"] == f"/ads/{body['ad']['id']}/click"
        assert "example.com" not in json.dumps(body)  # the target stays server-side
        seen.append(body["ad"]["id"])
    assert sorted(seen) == sorted(created)
    again = [next_ad(client, slot, visitor).json_body["ad"]["id"] for _ in range(3)]
    assert again == seen  # the least recently seen comes next
    response = next_ad(client, slot, visitor)
    assert response.status_code == 204 and response.body in (b"", "")


def test_impressions_and_clicks_are_counted_per_ad_per_day(stack, client):
    slot, visitor = new_slot(), new_visitor()
    [ad_id] = add_ads(slot, 1)
    for _ in range(3):
        assert next_ad(client, slot, visitor).status_code == 200
    for _ in range(2):
        response = client.http.get(f"/ads/{ad_id}/click")
        assert response.status_code == 302
        assert response.headers["Location"] == "https://example.com/0"
    assert counters.daily("ad_impressions", today(), today(), dimension=ad_id) == {today(): 3}
    assert counters.daily("ad_clicks", today(), today(), dimension=ad_id) == {today(): 2}


def test_counters_and_state_hold_no_visitor_id(stack, client):
    slot, visitor = new_slot(), new_visitor()
    add_ads(slot, 1)
    assert next_ad(client, slot, visitor).status_code == 200
    dynamodb = boto3.client("dynamodb", endpoint_url=stack["dynamodb"].url,
                            region_name="us-east-1")
    for table in ("eso-local-stats", "eso-local-ad-views"):
        for item in dynamodb.scan(TableName=table)["Items"]:
            assert visitor not in json.dumps(item)
    [state] = dynamodb.query(
        TableName="eso-local-ad-views", KeyConditionExpression="viewer_hash = :v",
        ExpressionAttributeValues={":v": {"S": ads.viewer_hash(visitor)}})["Items"]
    assert set(state) == {"viewer_hash", "slot", "version", "seen", "expires_at"}
    expires = int(state["expires_at"]["N"])
    now = datetime.now(timezone.utc).timestamp()
    assert now + 29 * 86400 < expires <= now + 31 * 86400


@pytest.fixture
def acme(stack):
    """The active partner "acme" that partner ads below belong to."""
    from chalicelib import partners
    from chalicelib.platform.errors import ConflictError

    try:
        partners.create("Acme", "https://partner.example/landing",
                        privacy_policy_url="https://partner.example/privacy", partner_id="acme")
    except ConflictError:
        pass
    return "acme"


def test_a_partner_ad_click_goes_to_the_partner_referral_route(stack, client, acme):
    ad = ads.create_ad(slot=new_slot(), title="Partner", target_url="https://partner.example/",
                       partner_id="acme")
    response = client.http.get(f"/ads/{ad.ad_id}/click")
    assert response.status_code == 302
    assert response.headers["Location"] == "/go/acme"


def test_the_click_target_is_never_taken_from_the_request(stack, client):
    [ad_id] = add_ads(new_slot(), 1)
    response = client.http.get(f"/ads/{ad_id}/click?target=https://evil.example/&url=//evil",
                               headers={"Referer": "https://evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/0"


def test_unknown_and_disabled_ads_are_404_and_not_counted(stack, client):
    [ad_id] = add_ads(new_slot(), 1)
    ads.disable_ad(ad_id)
    for path in ("/ads/ad-doesnotexist/click", f"/ads/{ad_id}/click"):
        response = client.http.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert response.json_body["error"]["code"] == "not_found"
        assert "Location" not in response.headers
    html = client.http.get("/ads/ad-doesnotexist/click", headers={"Accept": "text/html"})
    assert html.status_code == 404 and "Page not found" in html.body.decode()
    assert counters.daily("ad_clicks", today(), today(), dimension=ad_id) == {}


def test_an_unknown_slot_is_404_and_a_slot_with_nothing_eligible_is_204(stack, client):
    response = next_ad(client, undeclared_slot(), new_visitor())
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "unknown_slot"
    assert next_ad(client, new_slot(), new_visitor()).status_code == 204  # declared, no ads
    slot = new_slot()
    later = datetime.now(timezone.utc) + timedelta(days=1)
    add_ads(slot, 1, starts_at=later)
    assert next_ad(client, slot, new_visitor()).status_code == 204


@pytest.mark.parametrize("cookie", ["", "short", "x" * 300, "<script>", "a;b"])
def test_a_malformed_visitor_cookie_is_a_fresh_visitor(stack, client, cookie):
    slot = new_slot()
    add_ads(slot, 1, frequency_cap=1)
    response = client.http.get(f"/api/v1/ads/next?slot={slot}",
                               headers={"Cookie": f"{VISITOR_COOKIE}={cookie}"})
    assert response.status_code == 200
    fresh = response.headers["Set-Cookie"]
    fresh = fresh if isinstance(fresh, str) else fresh[0]
    assert fresh.startswith(VISITOR_COOKIE + "=")
    # A second request with the issued cookie is the same visitor: cap 1 reached.
    issued = fresh.split(";")[0].split("=", 1)[1]
    assert next_ad(client, slot, issued).status_code == 204


def test_disabling_an_ad_takes_it_out_of_rotation(stack, client):
    slot, visitor = new_slot(), new_visitor()
    keep, drop = add_ads(slot, 2)
    ads.disable_ad(drop)
    ads.slot_cache.clear()  # another container would see it within CACHE_SECONDS
    served = {next_ad(client, slot, visitor).json_body["ad"]["id"] for _ in range(3)}
    assert served == {keep}


def test_the_home_page_shows_the_home_slot_ad_server_side(stack, client):
    from chalicelib.ops import demo

    demo.seed()
    ads.slot_cache.clear()
    visitor = new_visitor()
    home = {ad.ad_id for ad in ads.list_ads("home") if ad.active}
    shown = []
    for _ in range(len(home)):
        html = client.http.get("/", headers={"Cookie": f"{VISITOR_COOKIE}={visitor}"}).body
        marker = 'data-ad-id="'
        text = html.decode()
        assert marker in text
        shown.append(text.split(marker, 1)[1].split('"', 1)[0])
    assert sorted(shown) == sorted(home)


# --- the operator CLI ---------------------------------------------------------------------------


def test_an_ad_for_an_unknown_partner_is_refused(stack):
    with pytest.raises(errors.ValidationError, match="no active partner"):
        ads.create_ad(slot=new_slot(), title="Nobody's", target_url="https://example.com/",
                      partner_id="nobody-here")


def test_cli_adds_lists_and_disables_ads(stack, acme):
    slot = new_slot()
    added = cli("--json", "ads", "add", "--slot", slot, "--title", "From the CLI",
                "--target-url", "https://example.com/cli", "--partner", "acme", "--weight", "4",
                "--frequency-cap", "2", "--body", "Body text", "--image-url",
                "https://example.com/a.png", "--start", "2026-01-01", "--end", "2099-01-01")
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert set(created) == {"ad_id"}
    listed = cli("--json", "ads", "list", "--slot", slot)
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)["ads"]
    assert record == {
        "ad_id": created["ad_id"], "slot": slot, "title": "From the CLI", "body": "Body text",
        "image_url": "https://example.com/a.png", "target_url": "https://example.com/cli",
        "partner_id": "acme", "weight": 4, "frequency_cap": 2, "active": True,
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
    disabled = cli("--json", "ads", "disable", created["ad_id"])
    assert json.loads(disabled.stdout) == {"ad_id": created["ad_id"], "active": False}
    text = cli("ads", "list", "--slot", slot)
    assert "disabled" in text.stdout and created["ad_id"] in text.stdout


@pytest.mark.parametrize("args, words", [
    (["--target-url", "javascript:alert(1)"], "target url must be an http"),
    (["--target-url", "https://e.example/", "--weight", "0"], "weight must be"),
    (["--target-url", "https://e.example/", "--frequency-cap", "-1"], "frequency cap must be"),
    (["--target-url", "https://e.example/", "--start", "2026-02-02", "--end", "2026-02-01"],
     "the end must be after the start"),
    (["--target-url", "https://e.example/", "--start", "soon"], "start must be an ISO 8601"),
])
def test_cli_refuses_bad_input_in_one_line(stack, args, words):
    result = cli("ads", "add", "--slot", "home", "--title", "T", *args)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert words in result.stderr


def test_cli_disable_of_an_unknown_ad_is_one_line(stack):
    result = cli("ads", "disable", "ad-nope")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: There is no such ad."


def test_seeding_twice_does_not_duplicate_demo_ads(stack):
    for _ in range(2):
        seeded = cli("--json", "local", "seed")
        assert seeded.returncode == 0, seeded.stderr
    listed = json.loads(cli("--json", "ads", "list", "--slot", "home").stdout)["ads"]
    demo_ids = [ad["ad_id"] for ad in listed if ad["ad_id"].startswith("ad-demo-")]
    assert sorted(demo_ids) == ["ad-demo-accounting", "ad-demo-chairs", "ad-demo-printer"]


# --- slots, editing, enabling -------------------------------------------------------------------


def test_an_ad_for_a_slot_nobody_declared_is_refused_naming_the_known_slots(stack):
    declared = new_slot()
    wanted = undeclared_slot()
    result = cli("ads", "add", "--slot", wanted, "--title", "Nowhere",
                 "--target-url", "https://example.com/")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: slot '{wanted}' is not declared")
    known = line.split("the known slots are: ", 1)[1]
    assert "home" in known and declared in known
    assert f"slots add --name {wanted}" in line
    assert ads.list_ads(wanted) == []


def test_slots_are_declared_once_with_valid_names(stack):
    name = undeclared_slot()
    added = cli("slots", "add", "--name", name, "--description", "Right column", "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {
        "slot": name, "description": "Right column", "built_in": False,
        "created_at": json.loads(added.stdout)["created_at"]}
    listed = json.loads(cli("--json", "slots", "list").stdout)["slots"]
    assert listed[0]["slot"] == "home" and listed[0]["built_in"] is True
    [mine] = [s for s in listed if s["slot"] == name]
    assert mine["declared"] is True and mine["description"] == "Right column"
    for bad in ("Sidebar", "side bar", "-lead", "x" * 33, "", "emoji-\u2603"):
        result = cli("slots", "add", "--name", bad)
        assert result.returncode == 1, bad
        assert ("slot must be" in result.stderr or "a slot is required" in result.stderr), bad
    for taken in (name, "home"):
        again = cli("slots", "add", "--name", taken)
        assert again.returncode == 1
        assert again.stderr.strip() in (f"error: slot {taken} already exists",
                                        f"error: slot {taken} always exists")
    assert [s["slot"] for s in json.loads(cli("--json", "slots", "list").stdout)["slots"]
            ].count(name) == 1


def test_a_declared_slot_other_than_home_is_served_over_http(app_server):
    slot = undeclared_slot()
    assert cli("slots", "add", "--name", slot).returncode == 0
    added = cli("--json", "ads", "add", "--slot", slot, "--title", "In the sidebar",
                "--target-url", "https://example.com/side")
    assert added.returncode == 0, added.stderr
    ad_id = json.loads(added.stdout)["ad_id"]
    response = requests.get(f"{app_server.url}/api/v1/ads/next", params={"slot": slot},
                            cookies={VISITOR_COOKIE: new_visitor()}, timeout=30)
    assert response.status_code == 200
    assert response.json()["ad"]["id"] == ad_id and response.json()["ad"]["slot"] == slot
    unknown = requests.get(f"{app_server.url}/api/v1/ads/next",
                           params={"slot": undeclared_slot()}, timeout=30)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_slot"


def test_a_slot_that_is_not_declared_is_not_served_even_with_ads_in_it(stack, client):
    """Ads stored in a slot before slots were declared: 404 until the slot is declared."""
    from chalicelib.ads.models import Ad

    slot = undeclared_slot()
    Ad("ad-legacy-" + uuid.uuid4().hex[:8], slot=slot, title="Legacy",
       target_url="https://example.com/", frequency_cap=5,
       created_at=datetime.now(timezone.utc)).save()
    assert next_ad(client, slot, new_visitor()).status_code == 404
    listed = json.loads(cli("--json", "slots", "list").stdout)["slots"]
    [legacy] = [s for s in listed if s["slot"] == slot]
    assert legacy["declared"] is False and legacy["ads"] == 1
    assert "not served" in cli("slots", "list").stdout
    ads.declare_slot(slot)
    ads.slot_cache.clear()  # the cache remembers "undeclared" for up to CACHE_SECONDS
    assert next_ad(client, slot, new_visitor()).status_code == 200


def _record(ad_id):
    return ads.get_ad(ad_id).as_record()


def test_edit_changes_only_the_given_fields(stack, acme):
    slot, other = new_slot(), new_slot()
    created = ads.create_ad(slot=slot, title="Before", body="Body before",
                            target_url="https://example.com/before", partner_id="acme",
                            image_url="https://example.com/a.png", weight=2, frequency_cap=3,
                            ends_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    before = _record(created.ad_id)
    edited = cli("ads", "edit", created.ad_id, "--title", "After", "--weight", "9", "--json")
    assert edited.returncode == 0, edited.stderr
    shown = json.loads(edited.stdout)
    assert shown.pop("changed") == ["title", "weight"]
    assert shown == _record(created.ad_id) == before | {"title": "After", "weight": 9}

    moved = cli("--json", "ads", "edit", created.ad_id, "--slot", other, "--body", "",
                "--ends-at", "", "--starts-at", "2026-01-01T08:00:00+02:00")
    assert moved.returncode == 0, moved.stderr
    assert _record(created.ad_id) == before | {
        "title": "After", "weight": 9, "slot": other, "body": None, "ends_at": None,
        "starts_at": "2026-01-01T06:00:00Z"}
    assert ads.list_ads(slot) == [] and [a.ad_id for a in ads.list_ads(other)] == [created.ad_id]


@pytest.mark.parametrize("args, words", [
    (["--title", " "], "title must not be empty"),
    (["--target-url", "javascript:alert(1)"], "target url must be an http"),
    (["--image-url", "data:image/png;base64,AA"], "image url must be an http"),
    (["--weight", "0"], "weight must be a whole number"),
    (["--frequency-cap", "51"], "frequency cap must be"),
    (["--ends-at", "2000-01-01"], "the end must be after"),
    (["--starts-at", "2099-02-01"], "the end must be after the start"),
    (["--starts-at", "soon"], "start must be an ISO 8601"),
    (["--slot", "Not A Slot"], "slot must be"),
    (["--slot", "never-declared-x"], "is not declared"),
    ([], "give at least one field to change"),
])
def test_edit_refuses_what_add_refuses_and_changes_nothing(stack, args, words):
    ad = ads.create_ad(slot=new_slot(), title="Kept", target_url="https://example.com/kept",
                       ends_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    before = _record(ad.ad_id)
    result = cli("ads", "edit", ad.ad_id, *args)
    assert result.returncode == 1
    assert words in result.stderr and result.stderr.strip().count("\n") == 0
    assert _record(ad.ad_id) == before


def test_edit_of_a_missing_ad_is_an_error_and_creates_nothing(stack):
    from chalicelib.ads.models import Ad

    missing = "ad-" + uuid.uuid4().hex[:10]
    result = cli("ads", "edit", missing, "--title", "Ghost")
    assert (result.returncode, result.stderr.strip()) == (1, "error: There is no such ad.")
    for command in ("enable", "disable"):
        assert cli("ads", command, missing).stderr.strip() == "error: There is no such ad."
    assert Ad.count(missing) == 0


def test_an_ad_deleted_while_being_edited_is_not_created_again(stack, monkeypatch):
    """The write is conditional on the ad existing, not just the read before it."""
    from chalicelib.ads import catalogue
    from chalicelib.ads.models import Ad

    [ad_id] = add_ads(new_slot(), 1)
    real_get = catalogue.get_ad

    def read_then_delete(wanted):
        found = real_get(wanted)
        Ad(wanted).delete()
        monkeypatch.setattr(catalogue, "get_ad", real_get)
        return found

    monkeypatch.setattr(catalogue, "get_ad", read_then_delete)
    with pytest.raises(errors.NotFoundError):
        ads.edit_ad(ad_id, title="Resurrected")
    assert Ad.count(ad_id) == 0


def test_an_edit_checked_against_a_window_that_changed_meanwhile_is_refused(stack, monkeypatch):
    from chalicelib.ads import catalogue
    from chalicelib.ads.models import Ad

    ad = ads.create_ad(slot=new_slot(), title="Window", target_url="https://example.com/",
                       ends_at=datetime(2099, 1, 1, tzinfo=timezone.utc))
    real_get = catalogue.get_ad
    sooner = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def read_then_shorten(wanted):
        found = real_get(wanted)
        Ad(wanted).update(actions=[Ad.ends_at.set(sooner)])  # another operator, meanwhile
        monkeypatch.setattr(catalogue, "get_ad", real_get)
        return found

    monkeypatch.setattr(catalogue, "get_ad", read_then_shorten)
    with pytest.raises(errors.ConflictError):
        ads.edit_ad(ad.ad_id, starts_at=datetime(2040, 1, 1, tzinfo=timezone.utc))
    assert ads.get_ad(ad.ad_id).starts_at is None  # a start after the end never got stored


def test_an_ad_enabled_after_disabling_is_served_and_clicked_again(stack, client):
    slot, visitor = new_slot(), new_visitor()
    [ad_id] = add_ads(slot, 1, frequency_cap=50)
    assert next_ad(client, slot, visitor).json_body["ad"]["id"] == ad_id
    assert json.loads(cli("--json", "ads", "disable", ad_id).stdout) == {
        "ad_id": ad_id, "active": False}
    ads.slot_cache.clear()  # another container would see it within CACHE_SECONDS
    assert next_ad(client, slot, visitor).status_code == 204
    assert client.http.get(f"/ads/{ad_id}/click").status_code == 404
    enabled = cli("ads", "enable", ad_id, "--json")
    assert json.loads(enabled.stdout) == {"ad_id": ad_id, "active": True}
    ads.slot_cache.clear()
    assert next_ad(client, slot, visitor).json_body["ad"]["id"] == ad_id
    assert client.http.get(f"/ads/{ad_id}/click").status_code == 302


def test_a_partner_ad_is_not_enabled_while_its_partner_is_disabled(stack):
    from chalicelib import partners
    from tests.integration.partner_helpers import new_partner

    partner_id, _ = new_partner("Ads owner")
    ad = ads.create_ad(slot=new_slot(), title="Owned", target_url="https://example.com/",
                       partner_id=partner_id)
    ads.disable_ad(ad.ad_id)
    partners.disable(partner_id)
    result = cli("ads", "enable", ad.ad_id)
    assert result.returncode == 1 and f"partner {partner_id} is disabled" in result.stderr
    assert ads.get_ad(ad.ad_id).active is False
    partners.enable(partner_id)
    assert cli("ads", "enable", ad.ad_id).returncode == 0
    assert ads.get_ad(ad.ad_id).active is True

