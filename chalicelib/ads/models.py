"""Ads, the declared ad slots, and per-visitor ad views."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.platform.models import BaseModel, table_meta


class AdsBySlotIndex(GlobalSecondaryIndex):
    """Every ad of a slot, whole: the one Query that fills a container's slot cache."""

    class Meta:
        index_name = "slot-ads"
        projection = AllProjection()

    slot = UnicodeAttribute(hash_key=True)
    ad_id = UnicodeAttribute(range_key=True)


class Ad(BaseModel):
    """An ad of one slot: what it shows, where a click goes, how often one visitor may see it."""

    Meta = table_meta("ads")

    ad_id = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(null=True)
    image_url = UnicodeAttribute(null=True)
    target_url = UnicodeAttribute()
    partner_id = UnicodeAttribute(null=True)
    weight = NumberAttribute(default=1)
    frequency_cap = NumberAttribute()
    starts_at = UTCDateTimeAttribute(null=True)
    ends_at = UTCDateTimeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()

    by_slot = AdsBySlotIndex()


class AdViews(BaseModel):
    """What one visitor has seen in one slot, keyed by a hash of the visitor cookie.

    ``seen`` maps an ad id to ``{"last": <version when last shown>, "at": [<epoch ms>, …]}``
    (the showings of the last 24 hours, at most the ad's cap). No member identity.
    """

    Meta = table_meta("ad-views")

    viewer_hash = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    version = VersionAttribute()
    seen = MapAttribute(default=dict)
    expires_at = TTLAttribute()


class AdSlot(BaseModel):
    """A declared ad slot: a place pages and widgets may show ads (``home`` needs no item).

    Every slot is in one partition (``scope`` is always ``"slots"``), so one Query reads them
    all: the serving path caches that set per container and never scans.
    """

    Meta = table_meta("ad-slots")

    scope = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)
    description = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


MODELS = (Ad, AdViews, AdSlot,)
