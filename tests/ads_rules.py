"""The rotation rule as an oracle over a history of served ads, and its test data.

Shared by the property tests against a fake store (tests/unit) and against DynamoDB Local
(tests/integration). The oracle knows nothing of the implementation: it reads what each
visitor was shown, and when, and checks the rule as a user would state it.
"""
from __future__ import annotations

import copy
import random
import time

from hypothesis import strategies as st

from chalicelib.ads import VIEWS_TTL, AdInfo, AdServer, StaleViewsError, Views
from chalicelib.ads.catalogue import DAY_MS

# Fake time starts at the current hour, not at a fixed date: DynamoDB Local does delete items
# whose TTL lies in the real past (within a second), which would silently drop state.
T0_MS = int(time.time()) // 3600 * 3600 * 1000
HOUR_MS = 3600 * 1000


class FakeClock:
    """Time that tests move by hand (epoch seconds, like ``time.time``)."""

    def __init__(self, now_ms: int = T0_MS):
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class MemoryViewStore:
    """An in-memory stand-in for DynamoDB's ``AdViews`` items with the same version check."""

    def __init__(self):
        self.items: dict = {}

    def load(self, viewer, slot, now_ms):
        version, seen, expires_ms = self.items.get((viewer, slot), (0, {}, None))
        if expires_ms is not None and expires_ms <= now_ms:
            return Views(version=version)
        return Views(version=version, seen=copy.deepcopy(seen))

    def save(self, viewer, slot, views, now_ms):
        current = self.items.get((viewer, slot), (0, {}, None))[0]
        if current != views.version:
            raise StaleViewsError()
        ttl_ms = int(VIEWS_TTL.total_seconds() * 1000)
        self.items[(viewer, slot)] = (views.version + 1, copy.deepcopy(views.seen),
                                      now_ms + ttl_ms)


def server_for(ads, store, clock, seed=0, counted=None):
    """An AdServer over a fixed list of ads, with injected store, clock and randomness."""
    def count(ad, now_ms):
        if counted is not None:
            counted.append(ad.ad_id)

    return AdServer(lambda slot: list(ads), store=store, clock=clock,
                    rng=random.Random(seed), count=count, pause=lambda seconds: None)


def _shown_within(history, ad_id, now_ms):
    return sum(1 for at, shown in history if shown == ad_id and now_ms - DAY_MS < at <= now_ms)


def eligible_at(ads, history, now_ms):
    """Ids of the ads a visitor may be shown at ``now_ms``, given what they were shown."""
    return {ad.ad_id for ad in ads if ad.is_live(now_ms)
            and _shown_within(history, ad.ad_id, now_ms) < ad.frequency_cap}


def check_rotation(ads, requests):
    """Assert the rule over one visitor's ``requests``: [(time_ms, served ad id or None)].

    The visitor's state is kept for ``VIEWS_TTL`` after the last ad shown to them; after a
    longer absence they start afresh, and so does the oracle.
    """
    by_id = {ad.ad_id: ad for ad in ads}
    ttl_ms = int(VIEWS_TTL.total_seconds() * 1000)
    history = []  # (time_ms, ad_id) of the ads shown, in order
    for now_ms, served in requests:
        if history and now_ms - history[-1][0] >= ttl_ms:
            history = []
        eligible = eligible_at(ads, history, now_ms)
        if served is None:
            assert not eligible, f"204 at {now_ms} although {sorted(eligible)} were eligible"
            continue
        assert served in eligible, f"{served} served at {now_ms} but not eligible"
        previous = [i for i, (_, shown) in enumerate(history) if shown == served]
        if previous:
            since = {shown for _, shown in history[previous[-1] + 1:]}
            missed = eligible - {served} - since
            assert not missed, (f"{served} repeated at {now_ms} before {sorted(missed)} "
                                f"were shown since its last showing")
        history.append((now_ms, served))
        assert _shown_within(history, served, now_ms) <= by_id[served].frequency_cap
    return history


# --- hypothesis strategies ---------------------------------------------------------------------


@st.composite
def ad_sets(draw, slot="s"):
    """1-6 ads with random weights and caps; some start late, end early, or are disabled."""
    from datetime import datetime, timezone

    def moment(offset_hours):
        return datetime.fromtimestamp((T0_MS + offset_hours * HOUR_MS) / 1000, timezone.utc)

    count = draw(st.integers(1, 6))
    ads = []
    for i in range(count):
        start = draw(st.one_of(st.none(), st.integers(-5, 48)))
        length = draw(st.one_of(st.none(), st.integers(1, 72)))
        ads.append(AdInfo(
            ad_id=f"ad-p{i}", slot=slot, title=f"Ad {i}", target_url="https://example.com/",
            weight=draw(st.integers(1, 5)), frequency_cap=draw(st.integers(1, 4)),
            starts_at=moment(start) if start is not None else None,
            ends_at=moment((start or 0) + length) if length is not None else None,
            active=i == 0 or draw(st.sampled_from([True, True, True, False]))))
    return ads


# Gaps between requests: seconds to minutes (page views), hours, a day or more, and whole hours
# (so that showings fall exactly 24 h apart and the edge of the cap window is exercised).
gaps_ms = st.one_of(st.integers(0, 120_000), st.integers(0, 6 * HOUR_MS),
                    st.integers(20 * HOUR_MS, 30 * HOUR_MS),
                    st.integers(0, 25).map(lambda hours: hours * HOUR_MS))
request_plans = st.lists(st.tuples(gaps_ms, st.integers(0, 2)), min_size=1, max_size=40)


def run_plan(server, clock, plan, slot="s"):
    """Serve ``plan`` [(gap ms, visitor index)] and return each visitor's requests."""
    served = {}
    for gap, visitor in plan:
        clock.advance(gap)
        ad = server.next_ad(f"visitor-{visitor}-" + "x" * 16, slot)
        served.setdefault(visitor, []).append((clock.now_ms, ad.ad_id if ad else None))
    return served
