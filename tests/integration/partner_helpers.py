"""Helpers for partner journeys: a partner with a key, a referral click, a transaction report."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from chalicelib import partners
from tests.integration.helpers import post_json

LANDING = "https://shop.example/landing?src=eso&lang=en"


def new_partner(name: str = "Shop", contact_email: str | None = None, **options):
    """A fresh active partner; returns (partner id, API key)."""
    tag = uuid.uuid4().hex[:8]
    created = partners.create(
        f"{name} {tag}", options.pop("landing_url", LANDING),
        privacy_policy_url=options.pop("privacy_policy_url", f"https://shop.example/{tag}/privacy"),
        contact_email=contact_email or f"partner-{tag}@shop.example", **options)
    return created.partner_id, created.api_key


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def click(client, partner_id: str, headers=None) -> str:
    """Follow the referral link; returns the click id the partner receives."""
    response = client.http.get(f"/go/{partner_id}", headers=headers or {})
    assert response.status_code == 302, response.body
    return parse_qs(urlsplit(response.headers["Location"]).query)["eso_click"][0]


def report(client, key: str, body: dict):
    return post_json(client, "/partner/v1/transactions", body, bearer(key))


def order(click_id: str, order_id: str | None = None, amount: str = "12.50",
          currency: str = "USD", **extra) -> dict:
    return {"click_id": click_id, "order_id": order_id or f"ord-{uuid.uuid4().hex[:12]}",
            "amount": amount, "currency": currency, **extra}
