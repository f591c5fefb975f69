"""Referral clicks: ``/go/<partner>`` records a click and sends the browser to the partner's
registered landing URL with ``eso_click=<click id>`` (never a URL from the request); the partner
keeps that id and reports sales made within the attribution window (``transactions``).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from chalicelib.partners import registry
from chalicelib.partners.models import ReferralClick
from chalicelib.platform import clock
from chalicelib.platform.crypto import new_token, sign
from chalicelib.platform.dynamo import storage_errors
from chalicelib.statistics import counters

ATTRIBUTION_WINDOW = timedelta(days=30)
# Clicks outlive the window so a late report of a sale inside it still finds its click.
CLICK_TTL = ATTRIBUTION_WINDOW + timedelta(days=15)
CLICK_PARAM = "eso_click"


def landing_url_with_click(landing_url: str, click_id: str) -> str:
    """The partner's registered URL with ``eso_click`` added; its own query and fragment kept."""
    parts = urlsplit(landing_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != CLICK_PARAM]
    query.append((CLICK_PARAM, click_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def record_click(partner_id: str, visitor_id: str, member_id: str | None = None,
                 now: datetime | None = None) -> str:
    """Record a referral click; returns where to send the browser (never from the request)."""
    now = now or clock.now()
    partner = registry.get_active(partner_id)
    click_id = new_token(16)
    click = ReferralClick(click_id, partner_id=partner.partner_id,
                          visitor_hash=sign("referral-visitor", visitor_id),
                          member_id=member_id, clicked_at=now, expires_at=now + CLICK_TTL)
    with storage_errors():
        click.save(condition=ReferralClick.click_id.does_not_exist())
    counters.record("referral_clicks", dimension=partner.partner_id, now=now)
    return landing_url_with_click(partner.landing_url, click_id)
