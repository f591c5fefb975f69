"""Ads (SPEC §4 "Visitors and ads"): the operator's catalogue and per-visitor rotation.

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
Each ad served is one strongly consistent GetItem of that item and one PutItem conditional on
its version; when two tabs of one visitor race, the loser reads again and chooses again. The
ads of a slot come from one Query, cached per Lambda container for ``CACHE_SECONDS``.
"""
from __future__ import annotations

import hashlib
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional
from urllib.parse import quote, urlsplit

from chalicelib import errors
from chalicelib.db import storage_errors
from chalicelib.models import Ad, AdViews

DAY_MS = 24 * 3600 * 1000
VIEWS_TTL = timedelta(days=30)
CACHE_SECONDS = 30.0
CACHE_MAX_SLOTS = 256
# Each round of a race has a winner, and a browser opens at most 6 connections to one host:
# 6 attempts let every simultaneous request of one visitor through.
SAVE_ATTEMPTS = 6
IMPRESSION_SHARDS = 8
CLICK_SHARDS = 4

DEFAULT_WEIGHT = 1
MAX_WEIGHT = 1000
DEFAULT_FREQUENCY_CAP = 5
MAX_FREQUENCY_CAP = 50  # bounds the state item: at most this many times per ad
MAX_TITLE = 80
MAX_BODY = 280
MAX_URL = 2048

_SLOT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_AD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")


# --- the catalogue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AdInfo:
    """An ad as the rotation and the pages see it (a plain value, safe to cache and share)."""

    ad_id: str
    slot: str
    title: str
    target_url: str
    frequency_cap: int
    weight: int = DEFAULT_WEIGHT
    body: Optional[str] = None
    image_url: Optional[str] = None
    partner_id: Optional[str] = None
    starts_at: Optional[datetime] = None
    ends_at: Optional[datetime] = None
    active: bool = True

    @property
    def click_url(self) -> str:
        return f"/ads/{self.ad_id}/click"

    @property
    def destination(self) -> str:
        """Where a click goes: the partner referral route for a partner's ad, else the target."""
        if self.partner_id:
            return f"/go/{quote(self.partner_id, safe='')}"
        return self.target_url

    def is_live(self, now_ms: int) -> bool:
        if not self.active:
            return False
        if self.starts_at is not None and now_ms < _ms(self.starts_at):
            return False
        return self.ends_at is None or now_ms < _ms(self.ends_at)

    def public(self) -> dict:
        """The ad as ``GET /api/v1/ads/next`` shows it (no target: clicks go through eSO)."""
        return {"id": self.ad_id, "slot": self.slot, "title": self.title, "body": self.body,
                "image_url": self.image_url, "click_url": self.click_url}

    def as_record(self) -> dict:
        """Every field, for the operator (``ads list``)."""
        return {"ad_id": self.ad_id, "slot": self.slot, "title": self.title, "body": self.body,
                "image_url": self.image_url, "target_url": self.target_url,
                "partner_id": self.partner_id, "weight": self.weight,
                "frequency_cap": self.frequency_cap, "active": self.active,
                "starts_at": _iso(self.starts_at), "ends_at": _iso(self.ends_at)}

    @classmethod
    def from_item(cls, item: Ad) -> "AdInfo":
        return cls(ad_id=item.ad_id, slot=item.slot, title=item.title, body=item.body,
                   image_url=item.image_url, target_url=item.target_url,
                   partner_id=item.partner_id, weight=int(item.weight),
                   frequency_cap=int(item.frequency_cap), starts_at=item.starts_at,
                   ends_at=item.ends_at, active=bool(item.active))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 date or time (``2026-12-01``, ``2026-12-01T08:00Z``); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.ValidationError(f"{name} must be an ISO 8601 date or time, not {text!r}",
                                     field=name) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def check_slot(slot: Optional[str]) -> str:
    if not slot:
        raise errors.ValidationError("a slot is required", field="slot")
    if not _SLOT.match(slot):
        raise errors.ValidationError(
            "slot must be 1-32 lower-case letters, digits, '-' or '_'", field="slot")
    return slot


def _check_url(url: Optional[str], name: str) -> Optional[str]:
    if url is None:
        return None
    parts = urlsplit(url)
    if (parts.scheme not in ("https", "http") or not parts.hostname or len(url) > MAX_URL
            or any(c.isspace() or ord(c) < 32 for c in url)):
        raise errors.ValidationError(f"{name} must be an http:// or https:// address", field=name)
    return url


def _check_text(text: Optional[str], name: str, limit: int, required: bool) -> Optional[str]:
    text = text.strip() if text is not None else None
    if not text:
        if required:
            raise errors.ValidationError(f"{name} must not be empty", field=name)
        return None
    if len(text) > limit:
        raise errors.ValidationError(f"{name} must be at most {limit} characters", field=name)
    return text


def _check_int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.ValidationError(f"{name} must be a whole number from {low} to {high}",
                                     field=name)
    return value


def create_ad(*, slot: str, title: str, target_url: str, body: Optional[str] = None,
              image_url: Optional[str] = None, partner_id: Optional[str] = None,
              weight: int = DEFAULT_WEIGHT, frequency_cap: int = DEFAULT_FREQUENCY_CAP,
              starts_at: Optional[datetime] = None, ends_at: Optional[datetime] = None,
              ad_id: Optional[str] = None, now: Optional[datetime] = None) -> AdInfo:
    """Validate and store a new ad (operator input); ``ad_id`` is for fixed demo ids."""
    from pynamodb.exceptions import PutError

    now = now or datetime.now(timezone.utc)
    check_slot(slot)
    if partner_id is not None:
        from chalicelib import partners

        try:
            partners.get_active(partner_id)
        except errors.NotFoundError:
            raise errors.ValidationError(f"no active partner {partner_id!r}",
                                         field="partner") from None
    if ends_at is not None and ends_at <= (starts_at or now):
        raise errors.ValidationError("the end must be after the start (and after now)",
                                     field="end")
    if ad_id is not None and not _AD_ID.match(ad_id):
        raise errors.ValidationError("bad ad id", field="ad_id")
    info = AdInfo(
        ad_id=ad_id or "ad-" + secrets.token_hex(5), slot=slot,
        title=_check_text(title, "title", MAX_TITLE, True),
        body=_check_text(body, "body", MAX_BODY, False),
        target_url=_check_url(target_url, "target url"),
        image_url=_check_url(image_url, "image url"), partner_id=partner_id,
        weight=_check_int(weight, "weight", 1, MAX_WEIGHT),
        frequency_cap=_check_int(frequency_cap, "frequency cap", 1, MAX_FREQUENCY_CAP),
        starts_at=starts_at, ends_at=ends_at)
    item = Ad(info.ad_id, slot=info.slot, title=info.title, body=info.body,
              image_url=info.image_url, target_url=info.target_url,
              partner_id=info.partner_id, weight=info.weight,
              frequency_cap=info.frequency_cap, starts_at=starts_at, ends_at=ends_at,
              active=True, created_at=now)
    try:
        with storage_errors():
            item.save(condition=Ad.ad_id.does_not_exist())
    except PutError as exc:
        if _conditional_failed(exc):
            raise errors.ConflictError(f"ad {info.ad_id} already exists") from None
        raise
    return info


def get_ad(ad_id: str) -> AdInfo:
    """One ad by id; unknown (or malformed) id → NotFoundError."""
    if not _AD_ID.match(ad_id or ""):
        raise errors.NotFoundError("There is no such ad.")
    with storage_errors():
        try:
            return AdInfo.from_item(Ad.get(ad_id))
        except Ad.DoesNotExist:
            raise errors.NotFoundError("There is no such ad.") from None


def list_ads(slot: Optional[str] = None) -> list:
    """Every ad (or a slot's), active or not, for the operator; ordered by slot and id."""
    with storage_errors():
        if slot is not None:
            items = Ad.by_slot.query(check_slot(slot))
        else:
            items = Ad.scan()
        found = [AdInfo.from_item(item) for item in items]
    return sorted(found, key=lambda ad: (ad.slot, ad.ad_id))


def disable_ad(ad_id: str) -> AdInfo:
    """Stop showing an ad (and stop redirecting its clicks). Unknown → NotFoundError."""
    from pynamodb.exceptions import UpdateError

    ad = get_ad(ad_id)
    try:
        with storage_errors():
            Ad(ad.ad_id).update(actions=[Ad.active.set(False)], condition=Ad.ad_id.exists())
    except UpdateError as exc:
        if _conditional_failed(exc):
            raise errors.NotFoundError("There is no such ad.") from None
        raise
    return replace(ad, active=False)


def _conditional_failed(exc) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class SlotCache:
    """The ads of each slot, read with one Query and kept per container for ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries: dict = {}
        self._lock = threading.Lock()

    def __call__(self, slot: str) -> list:
        key = (Ad.Meta.table_name, slot)
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] >= self.ttl:
            with storage_errors():
                ads = tuple(AdInfo.from_item(item) for item in Ad.by_slot.query(slot))
            entry = (self.clock(), ads)
            with self._lock:
                if len(self._entries) >= CACHE_MAX_SLOTS:
                    self._entries.clear()
                self._entries[key] = entry
        if not entry[1]:
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
        if item.expires_at is not None and _ms(item.expires_at) <= now_ms:
            return Views(version=item.version or 0)
        return Views(version=item.version or 0, seen=item.seen.as_dict())

    def save(self, viewer: str, slot: str, views: Views, now_ms: int) -> None:
        from pynamodb.exceptions import PutError

        expires = datetime.fromtimestamp(now_ms / 1000, timezone.utc) + VIEWS_TTL
        item = AdViews(viewer, slot, seen=views.seen, expires_at=expires)
        if views.version:
            item.version = views.version  # PynamoDB conditions on it (else on not-exists)
        try:
            with storage_errors():
                item.save()
        except PutError as exc:
            if _conditional_failed(exc):
                raise StaleViewsError() from None
            raise


def viewer_hash(visitor_token: str) -> str:
    """The key of a visitor's state: SHA-256 of the cookie value, never the value itself."""
    return hashlib.sha256(visitor_token.encode("utf-8")).hexdigest()


def _count_impression(ad: AdInfo, now_ms: int) -> None:
    from chalicelib import stats

    stats.increment("ad_impressions", dimension=ad.ad_id, shards=IMPRESSION_SHARDS,
                    now=datetime.fromtimestamp(now_ms / 1000, timezone.utc))


class AdServer:
    """Serves the next ad of a slot to a visitor under the rotation rule.

    Everything it depends on is injected (slot catalogue, state store, clock, randomness,
    impression counter) so the rule can be tested with time moving; the defaults are the
    production ones.
    """

    def __init__(self, catalogue: Callable[[str], list], store=None,
                 clock: Callable[[], float] = time.time, rng: Optional[random.Random] = None,
                 count: Callable[[AdInfo, int], None] = _count_impression,
                 pause: Callable[[float], None] = time.sleep):
        self.catalogue = catalogue
        self.store = store or DynamoViewStore()
        self.clock = clock
        self.rng = rng or random.Random()
        self.count = count
        self.pause = pause

    def next_ad(self, visitor_token: str, slot: str) -> Optional[AdInfo]:
        """The ad to show now (and recorded as shown), or None when none is eligible."""
        check_slot(slot)
        slot_ads = self.catalogue(slot)
        viewer = viewer_hash(visitor_token)
        for attempt in range(SAVE_ATTEMPTS):
            now_ms = int(self.clock() * 1000)
            views = self.store.load(viewer, slot, now_ms)
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
            from chalicelib.observability import get_logger

            get_logger().warning("ad impression not counted", extra={"ad_id": ad.ad_id})


slot_cache = SlotCache()
_server = AdServer(slot_cache)


def next_ad(visitor_token: str, slot: str) -> Optional[AdInfo]:
    """The next ad of ``slot`` for this visitor (per-container cache, DynamoDB state)."""
    return _server.next_ad(visitor_token, slot)


def click(ad_id: str, now: Optional[datetime] = None) -> str:
    """Count a click on a live ad and return where it goes. Unknown or disabled → NotFound."""
    from chalicelib import stats

    ad = get_ad(ad_id)
    if not ad.active:
        raise errors.NotFoundError("There is no such ad.")
    stats.record("ad_clicks", dimension=ad.ad_id, shards=CLICK_SHARDS, now=now)
    return ad.destination
