"""Ads: the operator's catalogue (what an ad shows, where a click goes, how often one visitor
may see it). The rotation that serves them is ``chalicelib.ads.rotation``; the slots they are
shown in are ``chalicelib.ads.slots``.

Changes reach serving containers when their slot cache expires (``rotation.CACHE_SECONDS``).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional
from urllib.parse import quote, urlsplit

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import partners
from chalicelib.ads.models import Ad
from chalicelib.ads.slots import check_slot, require_declared
from chalicelib.platform import clock, errors
from chalicelib.platform.clock import iso
from chalicelib.platform.dynamo import condition_failed, storage_errors
from chalicelib.platform.text import check_text

DAY_MS = 24 * 3600 * 1000
VIEWS_TTL = timedelta(days=30)
# Each round of a race has a winner, and a browser opens at most 6 connections to one host:
# 6 attempts let every simultaneous request of one visitor through.
SAVE_ATTEMPTS = 6

DEFAULT_WEIGHT = 1
MAX_WEIGHT = 1000
DEFAULT_FREQUENCY_CAP = 5
MAX_FREQUENCY_CAP = 50  # bounds the state item: at most this many times per ad
MAX_TITLE = 80
MAX_BODY = 280
MAX_URL = 2048

_AD_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")


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
        if self.starts_at is not None and now_ms < ms(self.starts_at):
            return False
        return self.ends_at is None or now_ms < ms(self.ends_at)

    def state(self, now_ms: int) -> str:
        """How the operator reads it now: ``disabled``, ``scheduled`` (not started yet),
        ``ended``, or ``active``."""
        if not self.active:
            return "disabled"
        if self.starts_at is not None and now_ms < ms(self.starts_at):
            return "scheduled"
        if self.ends_at is not None and now_ms >= ms(self.ends_at):
            return "ended"
        return "active"

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


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: Optional[datetime]) -> Optional[str]:
    return iso(moment)


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 date or time (``2026-12-01``, ``2026-12-01T08:00Z``); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
        moment = (moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None
                  else moment.astimezone(timezone.utc))
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved by its offset
        moment = None
    if moment is None or not clock.FIRST_DAY <= moment.date() <= clock.LAST_DAY:
        raise errors.ValidationError(f"{name} must be an ISO 8601 date or time from 2000 to "
                                     f"2999, not {text!r}", field=name)
    return moment


def _check_url(url: Optional[str], name: str, required: bool = False) -> Optional[str]:
    if url is None and not required:
        return None
    url = url if isinstance(url, str) else ""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed or invalid [IPv6] host
        host = None
    if (not host or parts.scheme not in ("https", "http") or len(url) > MAX_URL
            or any(c.isspace() or ord(c) < 32 for c in url)):
        raise errors.ValidationError(f"{name} must be an http:// or https:// address", field=name)
    return url


def _check_text(text: Optional[str], name: str, limit: int, required: bool) -> Optional[str]:
    text = check_text(text, name).strip() if text is not None else None
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


_CLEARABLE = ("body", "image_url", "starts_at", "ends_at")
_EDITABLE = ("slot", "title", "body", "target_url", "image_url", "weight", "frequency_cap",
             "starts_at", "ends_at")


def _checked(fields: dict) -> dict:
    """The given fields of an ad, each checked as the operator gave it (no storage)."""
    checks = {
        "slot": lambda v: check_slot(v),
        "title": lambda v: _check_text(v, "title", MAX_TITLE, True),
        "body": lambda v: _check_text(v, "body", MAX_BODY, False),
        "target_url": lambda v: _check_url(v, "target url", required=True),
        "image_url": lambda v: _check_url(v, "image url"),
        "weight": lambda v: _check_int(v, "weight", 1, MAX_WEIGHT),
        "frequency_cap": lambda v: _check_int(v, "frequency cap", 1, MAX_FREQUENCY_CAP),
        "starts_at": lambda v: v,
        "ends_at": lambda v: v,
    }
    return {name: checks[name](value) for name, value in fields.items()}


def _check_window(starts_at: Optional[datetime], ends_at: Optional[datetime],
                  now: datetime) -> None:
    if ends_at is not None and ends_at <= (starts_at or now):
        raise errors.ValidationError("the end must be after the start (and after now)",
                                     field="end")


def _check_partner(partner_id: Optional[str]) -> None:
    if partner_id is None:
        return
    try:
        partners.get_active(partner_id)
    except errors.NotFoundError:
        raise errors.ValidationError(f"no active partner {partner_id!r}",
                                     field="partner") from None


def create_ad(*, slot: str, title: str, target_url: str, body: Optional[str] = None,
              image_url: Optional[str] = None, partner_id: Optional[str] = None,
              weight: int = DEFAULT_WEIGHT, frequency_cap: int = DEFAULT_FREQUENCY_CAP,
              starts_at: Optional[datetime] = None, ends_at: Optional[datetime] = None,
              ad_id: Optional[str] = None, now: Optional[datetime] = None) -> AdInfo:
    """Validate and store a new ad in a declared slot (operator input); ``ad_id`` is for fixed
    demo ids."""
    now = now or clock.now()
    fields = _checked(dict(slot=slot, title=title, body=body, target_url=target_url,
                           image_url=image_url, weight=weight, frequency_cap=frequency_cap,
                           starts_at=starts_at, ends_at=ends_at))
    _check_window(starts_at, ends_at, now)
    if ad_id is not None and not _AD_ID.match(ad_id):
        raise errors.ValidationError("bad ad id", field="ad_id")
    _check_partner(partner_id)
    require_declared(slot)
    info = AdInfo(ad_id=ad_id or "ad-" + secrets.token_hex(5), partner_id=partner_id, **fields)
    item = Ad(info.ad_id, slot=info.slot, title=info.title, body=info.body,
              image_url=info.image_url, target_url=info.target_url,
              partner_id=info.partner_id, weight=info.weight,
              frequency_cap=info.frequency_cap, starts_at=starts_at, ends_at=ends_at,
              active=True, created_at=now)
    try:
        with storage_errors():
            item.save(condition=Ad.ad_id.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
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


def _unchanged(attribute, value):
    """A condition: the stored ``attribute`` still holds ``value`` (absent when None)."""
    return attribute.does_not_exist() if value is None else attribute == value


def _update(ad_id: str, actions: list, condition=None) -> AdInfo:
    """One UpdateItem of an existing ad, conditional on its existence (so it never creates
    one) and on ``condition``. A failed condition is NotFoundError when the ad is gone,
    ConflictError when it changed meanwhile."""
    item = Ad(ad_id)
    exists = Ad.ad_id.exists()
    try:
        with storage_errors():
            item.update(actions=actions,
                        condition=exists if condition is None else exists & condition)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        get_ad(ad_id)  # NotFoundError if it is gone
        raise errors.ConflictError("the ad changed meanwhile; look again and retry",
                                   code="ad_changed") from None
    return AdInfo.from_item(item)


def edit_ad(ad_id: str, now: Optional[datetime] = None, **changes) -> tuple:
    """Change only the given fields of an existing ad, checked as for a new one.

    ``None`` clears an optional field (body, image URL, start, end). Returns the ad as stored
    and the names of the fields changed. Unknown ad → NotFoundError, and nothing is created.
    """
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise errors.ValidationError(f"an ad has no field {sorted(unknown)[0]!r}", field="ad")
    if not changes:
        raise errors.ValidationError("give at least one field to change", field="ad")
    for name, value in changes.items():
        if value is None and name not in _CLEARABLE:
            raise errors.ValidationError(f"{name.replace('_', ' ')} cannot be cleared",
                                         field=name)
    fields = _checked(changes)
    current = get_ad(ad_id)
    # The window is checked against what is stored; the condition below makes sure it is
    # still what was checked when the write lands.
    condition = None
    if "starts_at" in fields or "ends_at" in fields:
        _check_window(fields.get("starts_at", current.starts_at),
                      fields.get("ends_at", current.ends_at), now or clock.now())
        condition = (_unchanged(Ad.starts_at, current.starts_at)
                     & _unchanged(Ad.ends_at, current.ends_at))
    if "slot" in fields:
        require_declared(fields["slot"])
    actions = [getattr(Ad, name).remove() if value is None else getattr(Ad, name).set(value)
               for name, value in fields.items()]
    return _update(ad_id, actions, condition), sorted(fields)


def enable_ad(ad_id: str) -> AdInfo:
    """Show a disabled ad again (its partner, if any, must be active). Unknown → NotFoundError."""
    ad = get_ad(ad_id)
    if ad.partner_id is not None:
        try:
            partners.get_active(ad.partner_id)
        except errors.NotFoundError:
            raise errors.ConflictError(
                f"the ad's partner {ad.partner_id} is disabled; enable the partner first",
                code="partner_disabled") from None
    return _update(ad_id, [Ad.active.set(True)])


def disable_ad(ad_id: str) -> AdInfo:
    """Stop showing an ad (and stop redirecting its clicks). Unknown → NotFoundError."""
    get_ad(ad_id)
    return _update(ad_id, [Ad.active.set(False)])
