"""``/r/<token>``: the links of a promotion, counted per promotion, link and variant, without
knowing who clicked.

A token is ``<promotion id>.<variant>.<link>.<signature>``: the promotion, the variant (0 for a
promotion without variants) and the link's place in the promotion's stored ``links``, signed
with HMAC-SHA256 under the stage key (the first 22 base64url characters, 132 bits). It names no
member: every recipient of a variant gets the same token for the same link. A token that is not
genuine is refused before anything is read; the target is always the one stored with the
promotion, never anything of the request, so ``/r/`` cannot be made to send anyone elsewhere.

A click adds one to the day's ``promotion_clicks`` counter (dimension: the promotion, label
``<variant>.<link>``); nothing about the visitor is written or logged. Clicks count once the
promotion is being sent: the operator's previews before approval lead to the same targets
without counting. A rejected promotion's links lead nowhere (404).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple, Optional

from chalicelib.platform.crypto import equal, sign
from chalicelib.platform.errors import NotFoundError
from chalicelib.platform.settings import get_settings
from chalicelib.promotions.campaigns import get
from chalicelib.promotions.content import variant_count
from chalicelib.statistics import counters

CLICKS = "promotion_clicks"       # the counter (sharded: statistics.counters.SHARDS)
COUNTED = ("sending", "paused", "sent")
_PURPOSE = "promotion-link"
_SIGNATURE_CHARS = 22
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-2])\.([0-9]{1,2})\.([A-Za-z0-9_-]{22})$")
_CACHE_SIZE = 256


def click_token(promotion_id: str, variant: int, link: int) -> str:
    message = f"{promotion_id}.{variant}.{link}"
    return f"{message}.{sign(_PURPOSE, message)[:_SIGNATURE_CHARS]}"


def click_url(promotion_id: str, variant: int, link: int) -> str:
    """The ``/r/`` address of one link of one variant, the same for every recipient."""
    return f"{get_settings().base_url}/r/{click_token(promotion_id, variant, link)}"


def click_label(variant: int, link: int) -> str:
    """The counter label of one link of one variant."""
    return f"{variant}.{link}"


def _not_found() -> NotFoundError:
    return NotFoundError("This link is not valid. Copy the whole link from the e-mail.")


class Target(NamedTuple):
    promotion_id: str
    variant: int
    link: int


def read_click_token(token: Optional[str]) -> Target:
    """The promotion, variant and link a genuine token names; NotFoundError otherwise."""
    match = _TOKEN.match(token or "")
    if not match:
        raise _not_found()
    promotion_id, variant, link, signature = match.groups()
    expected = sign(_PURPOSE, f"{promotion_id}.{variant}.{link}")[:_SIGNATURE_CHARS]
    if not equal(expected, signature):
        raise _not_found()
    return Target(promotion_id, int(variant), int(link))


class _Links(NamedTuple):
    links: tuple
    variants: int
    status: str


# Promotion id → its links, once it counts clicks (its links never change, and it never stops
# counting): a warm container follows a link with no read at all.
_known: dict = {}


def _links_of(promotion_id: str) -> _Links:
    known = _known.get(promotion_id)
    if known is not None:
        return known
    try:
        promotion = get(promotion_id)
    except NotFoundError:
        raise _not_found() from None
    found = _Links(tuple(promotion.links or ()), variant_count(promotion), promotion.status)
    if found.status in COUNTED:
        if len(_known) >= _CACHE_SIZE:
            _known.clear()
        _known[promotion_id] = found
    return found


def follow_link(token: Optional[str], now: Optional[datetime] = None) -> str:
    """Where a ``/r/`` link goes (its stored target), counting the click; NotFoundError for a
    token that is not genuine, an unknown promotion or link, or a rejected promotion."""
    target = read_click_token(token)
    links = _links_of(target.promotion_id)
    if (links.status == "rejected" or target.link >= len(links.links)
            or target.variant >= links.variants):
        raise _not_found()
    if links.status in COUNTED:
        counters.record(CLICKS, dimension=target.promotion_id,
                        label=click_label(target.variant, target.link), now=now)
    return links.links[target.link]
