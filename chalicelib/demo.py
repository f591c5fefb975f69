"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations


def seed(progress=lambda message: None) -> dict:
    """Load each capability's demo data; returns what is there, by kind."""
    summary: dict = {}
    _seed_partner(summary, progress)
    return summary


DEMO_PARTNER_ID = "ptn_demo"


def _seed_partner(summary: dict, progress) -> None:
    """A demo marketing partner; its API key is printed only when it is created."""
    from chalicelib import partners
    from chalicelib.errors import NotFoundError

    try:
        partners.get(DEMO_PARTNER_ID)
    except NotFoundError:
        progress("creating the demo partner")
        new = partners.create(
            "Demo Office Supplies", "https://shop.demo-partner.example/welcome?src=eso",
            privacy_policy_url="https://shop.demo-partner.example/privacy",
            contact_email="partners@demo-partner.example",
            description="Paper, toner and chairs: 10% off your first order.",
            partner_id=DEMO_PARTNER_ID)
        summary["demo_partner_api_key"] = new.api_key
    summary["partners"] = DEMO_PARTNER_ID
