"""Ad rotation: which ad of a slot one visitor sees next.

The rotation rule, for one visitor in one slot, at each request:

1. eligible: the ad is active, inside its start/end window, and was shown to this visitor fewer
   than ``frequency_cap`` times in the last 24 hours;
2. freshest: among the eligible, those whose last showing to this visitor is the oldest (never
   shown is the oldest of all). So an ad is never shown again before every other eligible ad
   has been shown since its previous showing;
3. weighted random among those equally fresh.

The per-visitor state is one ``AdViews`` item per (SHA-256 of the visitor cookie, slot): a
version number, and per ad the version at its last showing and its showings of the last 24
hours. It holds no member identity and expires (TTL) 30 days after the visitor's last ad.
Each ad served is one strongly consistent GetItem of that item (none for a visitor whose
cookie is issued with this response) and one PutItem conditional on its version, and its
impression is counted in the container (``counters.tally``, written once per counter per
interval); when two tabs of one visitor race, the loser reads again and chooses again. The
slot's declaration (one GetItem, none for ``home``) and its ads (one Query) are cached per
Lambda container for ``CACHE_SECONDS``: a slot that is not declared is 404 ``unknown_slot``
and its ads are never read; a declared slot with no eligible ad has nothing to show (204).
"""
from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Optional

from pynamodb.exceptions import PutError

from chalicelib.ads.catalogue import (
    DAY_MS,
    SAVE_ATTEMPTS,
    VIEWS_TTL,
    AdInfo,
    get_ad,
    ms,
)
from chalicelib.ads.models import Ad, AdViews
from chalicelib.ads.slots import check_slot, is_declared
from chalicelib.platform import clock as wall_clock
from chalicelib.platform import errors, observability
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.statistics import counters

CACHE_SECONDS = 30.0
CACHE_MAX_SLOTS = 256


class SlotCache:
    """Per slot, whether it is declared and its ads: read once (a GetItem of the slot unless it
    is ``home``, then one Query of its ads) and kept per container for ``ttl`` seconds. A slot
    that is not declared is ``unknown_slot``, and its ads are never read."""

    def __init__(self, ttl: float = CACHE_SECONDS,
                 clock: Callable[[], float] = wall_clock.monotonic,
                 declared: Callable[[str], bool] = is_declared):
        self.ttl = ttl
        self.clock = clock
        self.declared = declared
        self._entries: dict = {}
        self._lock = threading.Lock()

    def __call__(self, slot: str) -> list:
        key = (Ad.Meta.table_name, slot)
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] >= self.ttl:
            ads = None
            if self.declared(slot):
                with storage_errors():
                    ads = tuple(AdInfo.from_item(item) for item in Ad.by_slot.query(slot))
            entry = (self.clock(), ads)
            with self._lock:
                if len(self._entries) >= CACHE_MAX_SLOTS:
                    self._entries.clear()
                self._entries[key] = entry
        if entry[1] is None:
            raise errors.NotFoundError(f"There is no ad slot {slot!r}.", code="unknown_slot")
        return list(entry[1])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --- one visitor's state in one slot, and the rule ---------------------------------------------


@dataclass
class Views:
    """What one visitor has seen in one slot. ``version`` 0 means no item stored yet."""

    version: int = 0
    seen: dict = field(default_factory=dict)

    def last(self, ad_id: str) -> int:
        """The version at which the ad was last shown; 0 if never (the oldest of all)."""
        return int(self.seen.get(ad_id, {}).get("last", 0))

    def shown_since(self, ad_id: str, since_ms: int) -> int:
        return sum(1 for at in self.seen.get(ad_id, {}).get("at", ()) if int(at) > since_ms)

    def after_showing(self, ad: AdInfo, now_ms: int, slot_ads: list) -> "Views":
        """The state once ``ad`` is shown at ``now_ms``, pruned of what no longer matters."""
        window_start = now_ms - DAY_MS
        current = {a.ad_id for a in slot_ads}
        seen = {}
        for ad_id, entry in self.seen.items():
            recent = [int(at) for at in entry.get("at", ()) if int(at) > window_start]
            if ad_id in current or recent:
                seen[ad_id] = {"last": int(entry.get("last", 0)), "at": recent}
        shown = seen.setdefault(ad.ad_id, {"last": 0, "at": []})
        shown["last"] = self.version + 1
        shown["at"] = (shown["at"] + [now_ms])[-ad.frequency_cap:]
        return Views(version=self.version, seen=seen)


def choose(ads: list, views: Views, now_ms: int, rng: random.Random) -> Optional[AdInfo]:
    """The rotation rule (module docstring): eligible, then freshest, then weighted random."""
    window_start = now_ms - DAY_MS
    eligible = [ad for ad in ads if ad.is_live(now_ms)
                and views.shown_since(ad.ad_id, window_start) < ad.frequency_cap]
    if not eligible:
        return None
    oldest = min(views.last(ad.ad_id) for ad in eligible)
    fresh = sorted((ad for ad in eligible if views.last(ad.ad_id) == oldest),
                   key=lambda ad: ad.ad_id)
    return rng.choices(fresh, weights=[ad.weight for ad in fresh])[0]


class StaleViewsError(Exception):
    """Another request of the same visitor saved the state first (version moved on)."""


class DynamoViewStore:
    """``AdViews`` items on DynamoDB: one consistent GetItem, one PutItem on the version."""

    def load(self, viewer: str, slot: str, now_ms: int) -> Views:
        with storage_errors():
            try:
                item = AdViews.get(viewer, slot, consistent_read=True)
            except AdViews.DoesNotExist:
                return Views()
        # TTL deletion lags (days on AWS, never on DynamoDB Local): expired means empty, but
        # the version stays so the next write still conditions on it.
        if item.expires_at is not None and ms(item.expires_at) <= now_ms:
            return Views(version=item.version or 0)
        return Views(version=item.version or 0, seen=item.seen.as_dict())

    def save(self, viewer: str, slot: str, views: Views, now_ms: int) -> None:
        expires = datetime.fromtimestamp(now_ms / 1000, timezone.utc) + VIEWS_TTL
        item = AdViews(viewer, slot, seen=views.seen, expires_at=expires)
        if views.version:
            item.version = views.version  # PynamoDB conditions on it (else on not-exists)
        try:
            with storage_errors():
                item.save()
        except PutError as exc:
            if condition_failed(exc):
                raise StaleViewsError() from None
            raise


def viewer_hash(visitor_token: str) -> str:
    """The key of a visitor's state: SHA-256 of the cookie value, never the value itself."""
    return hashlib.sha256(visitor_token.encode("utf-8")).hexdigest()


def _count_impression(ad: AdInfo, now_ms: int) -> None:
    # Held in the container and written once per counter per interval: an impression comes
    # with every home page view, and a write for each would add a write unit to the page.
    counters.tally("ad_impressions", dimension=ad.ad_id,
                   now=datetime.fromtimestamp(now_ms / 1000, timezone.utc))


class AdServer:
    """Serves the next ad of a slot to a visitor under the rotation rule.

    Everything it depends on is injected (slot catalogue, state store, clock, randomness,
    impression counter) so the rule can be tested with time moving; the defaults are the
    production ones.
    """

    def __init__(self, catalogue: Callable[[str], list], store=None,
                 clock: Callable[[], float] = lambda: wall_clock.now().timestamp(),
                 rng: Optional[random.Random] = None,
                 count: Callable[[AdInfo, int], None] = _count_impression,
                 pause: Callable[[float], None] = wall_clock.sleep):
        self.catalogue = catalogue
        self.store = store or DynamoViewStore()
        self.clock = clock
        self.rng = rng or random.Random()
        self.count = count
        self.pause = pause

    def next_ad(self, visitor_token: str, slot: str,
                new_visitor: bool = False) -> Optional[AdInfo]:
        """The ad to show now (and recorded as shown), or None when none is eligible.
        ``new_visitor``: the cookie is issued with this response, so no state can exist yet:
        it is not read (the write still conditions on there being none)."""
        check_slot(slot)
        slot_ads = self.catalogue(slot)
        if not slot_ads:
            return None  # a declared slot without ads: nothing to read or record
        viewer = viewer_hash(visitor_token)
        for attempt in range(SAVE_ATTEMPTS):
            now_ms = int(self.clock() * 1000)
            views = (Views() if new_visitor and attempt == 0
                     else self.store.load(viewer, slot, now_ms))
            ad = choose(slot_ads, views, now_ms, self.rng)
            if ad is None:
                return None
            try:
                self.store.save(viewer, slot, views.after_showing(ad, now_ms, slot_ads), now_ms)
            except StaleViewsError:
                self.pause(self.rng.uniform(0, 0.01 * (attempt + 1)))
                continue
            self._count(ad, now_ms)
            return ad
        raise errors.UnavailableError("Too many ad requests at once; try again shortly.")

    def _count(self, ad: AdInfo, now_ms: int) -> None:
        # The ad is served and recorded; a throttled counter must not turn it into an error.
        try:
            self.count(ad, now_ms)
        except errors.UnavailableError:
            observability.get_logger().warning("ad impression not counted", extra={"ad_id": ad.ad_id})


slot_cache = SlotCache()
_server = AdServer(slot_cache)


def next_ad(visitor_token: str, slot: str, new_visitor: bool = False) -> Optional[AdInfo]:
    """The next ad of ``slot`` for this visitor (per-container cache, DynamoDB state)."""
    return _server.next_ad(visitor_token, slot, new_visitor)


def click(ad_id: str, now: Optional[datetime] = None) -> str:
    """Count a click on a live ad and return where it goes. Unknown or disabled → NotFound."""
    ad = get_ad(ad_id)
    if not ad.active:
        raise errors.NotFoundError("There is no such ad.")
    counters.record("ad_clicks", dimension=ad.ad_id, now=now)
    return ad.destination
