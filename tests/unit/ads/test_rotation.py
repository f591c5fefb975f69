"""Ad rotation against an in-memory store with time moving; operator input checks."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import ads
from chalicelib.ads import AdInfo, StaleViewsError
from chalicelib.ads.catalogue import DAY_MS
from chalicelib.platform import errors
from chalicelib.platform.templates import render_text
from tests.ads_rules import (
    HOUR_MS,
    FakeClock,
    MemoryViewStore,
    ad_sets,
    check_rotation,
    request_plans,
    run_plan,
    server_for,
)


def ad(ad_id, weight=1, cap=5, **extra):
    return AdInfo(ad_id=ad_id, slot="s", title=ad_id.title(), target_url="https://example.com/",
                  weight=weight, frequency_cap=cap, **extra)


# --- the rule, as properties over random ads, caps, weights and request sequences --------------


@settings(max_examples=150, deadline=None)
@given(ads_in_slot=ad_sets(), plan=request_plans, seed=st.integers(0, 2**16))
def test_rotation_rule_holds_for_every_visitor(ads_in_slot, plan, seed):
    clock, counted = FakeClock(), []
    server = server_for(ads_in_slot, MemoryViewStore(), clock, seed=seed, counted=counted)
    served = run_plan(server, clock, plan)
    for requests in served.values():
        check_rotation(ads_in_slot, requests)
    shown = Counter(ad_id for requests in served.values() for _, ad_id in requests if ad_id)
    assert Counter(counted) == shown  # every impression counted once, nothing else


def test_each_ad_served_is_counted_once():
    clock, counted = FakeClock(), []
    ads_in_slot = [ad("ad-a"), ad("ad-b")]
    server = server_for(ads_in_slot, MemoryViewStore(), clock, counted=counted)
    shown = [server.next_ad("v" * 24, "s").ad_id for _ in range(4)]
    assert Counter(counted) == Counter(shown) == {"ad-a": 2, "ad-b": 2}


def test_a_visitor_walks_through_every_ad_before_any_repeats():
    ads_in_slot = [ad(f"ad-{c}", weight=w) for c, w in zip("abcde", (1, 9, 3, 1, 2))]
    clock = FakeClock()
    server = server_for(ads_in_slot, MemoryViewStore(), clock, seed=7)
    shown = []
    for _ in range(10):
        clock.advance(1000)
        shown.append(server.next_ad("v" * 24, "s").ad_id)
    assert sorted(shown[:5]) == sorted(a.ad_id for a in ads_in_slot)
    assert shown[5:] == shown[:5]  # then the same order: the least recently seen comes next


def test_the_cap_holds_within_24_hours_and_frees_after():
    clock = FakeClock()
    server = server_for([ad("ad-a", cap=2), ad("ad-b", cap=1)], MemoryViewStore(), clock)
    shown = []
    for _ in range(4):
        clock.advance(60_000)
        found = server.next_ad("v" * 24, "s")
        shown.append(found.ad_id if found else None)
    assert Counter(shown) == {"ad-a": 2, "ad-b": 1, None: 1}
    clock.advance(DAY_MS - 3 * 60_000 - 1)  # 1 ms short of 24 h after the first showing
    assert server.next_ad("v" * 24, "s") is None
    clock.advance(1)  # the first showing leaves the window; only that one is freed
    assert server.next_ad("v" * 24, "s").ad_id == shown[0]
    assert server.next_ad("v" * 24, "s") is None
    clock.advance(DAY_MS)
    assert {server.next_ad("v" * 24, "s").ad_id for _ in range(2)} == {"ad-a", "ad-b"}


def test_visitors_do_not_share_state():
    clock = FakeClock()
    server = server_for([ad("ad-a", cap=1)], MemoryViewStore(), clock)
    assert server.next_ad("a" * 24, "s").ad_id == "ad-a"
    assert server.next_ad("a" * 24, "s") is None
    assert server.next_ad("b" * 24, "s").ad_id == "ad-a"


def test_weights_decide_among_equally_fresh_ads():
    first = Counter()
    for seed in range(2000):
        server = server_for([ad("ad-light", weight=1), ad("ad-heavy", weight=9)],
                            MemoryViewStore(), FakeClock(), seed=seed)
        first[server.next_ad("v" * 24, "s").ad_id] += 1
    assert 0.86 < first["ad-heavy"] / 2000 < 0.94


def test_ads_outside_their_window_or_disabled_are_not_served():
    start = datetime.fromtimestamp(FakeClock().now_ms / 1000 + 3600, timezone.utc)
    clock = FakeClock()
    ads_in_slot = [ad("ad-later", starts_at=start), ad("ad-off", active=False),
                   ad("ad-over", ends_at=start - timedelta(hours=2))]
    server = server_for(ads_in_slot, MemoryViewStore(), clock)
    assert server.next_ad("v" * 24, "s") is None
    clock.advance(HOUR_MS)
    assert server.next_ad("v" * 24, "s").ad_id == "ad-later"


class RacingStore(MemoryViewStore):
    """Lets another request of the same visitor complete between a load and its save."""

    def __init__(self, racers):
        super().__init__()
        self.racers = racers
        self.conflicts = 0

    def save(self, viewer, slot, views, now_ms):
        if self.racers:
            self.racers.pop()()
        try:
            super().save(viewer, slot, views, now_ms)
        except StaleViewsError:
            self.conflicts += 1
            raise


def test_a_request_that_loses_a_race_chooses_again():
    ads_in_slot = [ad("ad-a"), ad("ad-b"), ad("ad-c")]
    clock, racers = FakeClock(), []
    store = RacingStore(racers)
    server = server_for(ads_in_slot, store, clock, seed=3)
    other = []
    racers.append(lambda: other.append(server.next_ad("v" * 24, "s").ad_id))
    mine = server.next_ad("v" * 24, "s").ad_id
    assert store.conflicts == 1
    assert mine != other[0]
    check_rotation(ads_in_slot, [(clock.now_ms, other[0]), (clock.now_ms, mine)])


def test_a_visitor_who_keeps_losing_gets_a_retryable_error():
    store = RacingStore([])
    server = server_for([ad("ad-a")], store, FakeClock())
    store.racers.extend(lambda: server.store.items.update(
        {k: (v[0] + 1, v[1], v[2]) for k, v in server.store.items.items()}) for _ in range(9))
    server.store.items[(ads.viewer_hash("v" * 24), "s")] = (1, {}, None)
    with pytest.raises(errors.UnavailableError):
        server.next_ad("v" * 24, "s")


class CountingStore(MemoryViewStore):
    def __init__(self):
        super().__init__()
        self.loads = 0

    def load(self, viewer, slot, now_ms):
        self.loads += 1
        return super().load(viewer, slot, now_ms)


def test_a_new_visitors_state_is_not_read_but_its_write_still_conditions_on_none():
    store = CountingStore()
    server = server_for([ad("ad-a"), ad("ad-b")], store, FakeClock(), seed=1)
    first = server.next_ad("n" * 24, "s", new_visitor=True).ad_id
    assert store.loads == 0 and len(store.items) == 1
    # Were the state there after all (the same cookie sent twice at once), the write that
    # assumed none fails its condition, and the request reads and chooses again.
    again = server.next_ad("n" * 24, "s", new_visitor=True).ad_id
    assert store.loads == 1 and again != first


def test_the_state_key_is_a_hash_of_the_cookie_not_the_cookie():
    store = MemoryViewStore()
    server_for([ad("ad-a")], store, FakeClock()).next_ad("the-cookie-value-1234567", "s")
    [(viewer, slot)] = store.items
    assert "the-cookie-value" not in viewer and len(viewer) == 64 and slot == "s"


# --- operator input ----------------------------------------------------------------------------

GOOD = dict(slot="home", title="A title", target_url="https://example.com/x")


@pytest.mark.parametrize("change, words", [
    ({"slot": ""}, "a slot is required"),
    ({"slot": "Home Page"}, "slot must be"),
    ({"title": "   "}, "title must not be empty"),
    ({"title": "x" * 81}, "title must be at most 80"),
    ({"body": "x" * 281}, "body must be at most 280"),
    ({"target_url": "javascript:alert(1)"}, "target url must be an http"),
    ({"target_url": "ftp://example.com/"}, "target url must be an http"),
    ({"target_url": "https://"}, "target url must be an http"),
    ({"target_url": "https://exa mple.com/"}, "target url must be an http"),
    ({"target_url": "/relative"}, "target url must be an http"),
    ({"image_url": "data:image/png;base64,AAAA"}, "image url must be an http"),
    ({"weight": 0}, "weight must be a whole number from 1 to 1000"),
    ({"weight": -3}, "weight must be"),
    ({"frequency_cap": 0}, "frequency cap must be a whole number from 1 to 50"),
    ({"frequency_cap": 51}, "frequency cap must be"),
    ({"partner_id": "../admin"}, "no active partner"),
    ({"starts_at": datetime(2026, 5, 2, tzinfo=timezone.utc),
      "ends_at": datetime(2026, 5, 1, tzinfo=timezone.utc)}, "the end must be after the start"),
    ({"ends_at": datetime(2000, 1, 1, tzinfo=timezone.utc)}, "the end must be after"),
])
def test_bad_operator_input_is_refused_before_anything_is_stored(change, words):
    with pytest.raises(errors.ValidationError) as caught:
        ads.create_ad(**{**GOOD, **change})
    assert words in caught.value.message


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01", datetime(2026, 12, 1, tzinfo=timezone.utc)),
    ("2026-12-01T08:30:00Z", datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc)),
    ("2026-12-01T10:30:00+02:00", datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc)),
])
def test_times_are_iso_8601_and_utc_when_no_zone_is_given(text, expected):
    assert ads.parse_time(text, "start") == expected


def test_a_malformed_time_is_named():
    with pytest.raises(errors.ValidationError, match="start must be an ISO 8601"):
        ads.parse_time("next tuesday", "start")


def test_a_partner_ad_goes_through_the_partner_referral_route():
    assert ad("ad-a", partner_id="acme_1").destination == "/go/acme_1"
    assert ad("ad-a").destination == "https://example.com/"


# --- HTTP bad input that needs no database -----------------------------------------------------


@pytest.mark.parametrize("query", ["", "?slot=", "?slot=HOME", "?slot=%3Cscript%3E",
                                   "?slot=" + "a" * 33, "?other=home"])
def test_a_missing_or_malformed_slot_is_400(client, query):
    response = client.http.get("/api/v1/ads/next" + query)
    assert response.status_code == 400
    assert response.json_body["error"]["code"] == "invalid_request"
    assert "slot" in response.json_body["error"]["message"]


@pytest.mark.parametrize("ad_id", ["AD-UPPER", "x", "ad_underscore", "-leading"])
def test_a_malformed_ad_id_is_404_without_a_lookup(client, ad_id):
    response = client.http.get(f"/ads/{ad_id}/click", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "not_found"
    assert "Location" not in response.headers


def test_the_home_page_escapes_what_an_ad_says():
    evil = AdInfo(ad_id="ad-evil", slot="home", title='<script>alert("t")</script>',
                  body="<img src=x onerror=alert(1)>", target_url="https://example.com/",
                  image_url='https://example.com/a.png" onload="alert(1)', frequency_cap=1)
    html = render_text("index.html", ad=evil, ad_slot="home")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html
    assert 'a.png&#34; onload=&#34;alert(1)"' in html
    assert 'href="/ads/ad-evil/click"' in html and "example.com/\"" not in html


def test_the_home_page_renders_without_an_ad_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setenv("ESO_DYNAMODB_PORT", "1")
    response = client.http.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.body.decode()
    assert "No ad to show right now." in html and 'class="cookie-notice"' in html


# --- declared slots and the per-container cache -------------------------------------------------


class _NoReads:
    """A view store that fails the test if the rotation reads or writes visitor state."""

    def load(self, *args):
        raise AssertionError("visitor state read")

    save = load


def test_a_declared_slot_without_ads_shows_nothing_without_reading_visitor_state():
    server = server_for([], _NoReads(), FakeClock())
    assert server.next_ad("v" * 24, "sidebar") is None


def test_the_slot_cache_answers_unknown_slots_without_reading_ads_and_remembers(monkeypatch):
    from chalicelib.ads import rotation
    from chalicelib.ads.models import Ad

    def no_query(*args, **kwargs):
        raise AssertionError("the ads of a slot that is not declared were read")

    monkeypatch.setenv("ESO_TABLE_PREFIX", "eso-unit-")
    monkeypatch.setattr(Ad.by_slot, "query", no_query)
    asked, now = [], [0.0]
    cache = rotation.SlotCache(ttl=30, clock=lambda: now[0],
                               declared=lambda slot: asked.append(slot) or False)
    for _ in range(3):
        with pytest.raises(errors.NotFoundError) as caught:
            cache("sidebar")
        assert caught.value.code == "unknown_slot"
    assert asked == ["sidebar"]  # one lookup per slot and container while fresh
    now[0] = 30.0
    with pytest.raises(errors.NotFoundError):
        cache("sidebar")
    assert asked == ["sidebar", "sidebar"]  # looked up again once the entry is stale


def test_the_slot_cache_reads_a_declared_slot_once_while_fresh(monkeypatch):
    from chalicelib.ads import rotation
    from chalicelib.ads.models import Ad

    monkeypatch.setenv("ESO_TABLE_PREFIX", "eso-unit-")
    queried = []
    item = Ad("ad-side", slot="sidebar", title="Side", target_url="https://example.com/",
              frequency_cap=2, weight=1, active=True)
    monkeypatch.setattr(Ad.by_slot, "query", lambda slot: queried.append(slot) or [item])
    cache = rotation.SlotCache(ttl=30, clock=lambda: 0.0, declared=lambda slot: True)
    assert [ad.ad_id for ad in cache("sidebar")] == ["ad-side"]
    assert [ad.ad_id for ad in cache("sidebar")] == ["ad-side"]
    assert queried == ["sidebar"]
    cache.clear()
    cache("sidebar")
    assert queried == ["sidebar", "sidebar"]


@pytest.mark.parametrize("name, description, words", [
    ("Sidebar", None, "slot must be"),
    ("", None, "a slot is required"),
    ("a" * 33, None, "slot must be"),
    ("side bar", None, "slot must be"),
    ("sidebar", "x" * 201, "at most 200"),
    ("sidebar", "right\x00column", "holds control characters"),
])
def test_slot_names_and_descriptions_are_checked_before_anything_is_stored(name, description,
                                                                          words):
    with pytest.raises(errors.ValidationError) as caught:
        ads.declare_slot(name, description)
    assert words in caught.value.message


def test_home_always_exists_and_cannot_be_declared_again():
    assert ads.is_declared("home")
    with pytest.raises(errors.ConflictError, match="always exists"):
        ads.declare_slot("home")
