"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations

from chalicelib import ads, members, partners
from chalicelib.members.consent import Provenance
from chalicelib.platform.errors import ConflictError, NotFoundError
from chalicelib.platform.settings import get_settings
from chalicelib.platform.vocabulary import OFFERS, PARTNER_PROMOTIONS

DEMO_MEMBER = {"email": "demo@esmalloffice.example", "password": "demo password 2026",
               "display_name": "Demo Member"}


def seed_member(progress) -> str:
    """A confirmed demo member (local stack only, no mail sent); returns its e-mail address."""
    email = DEMO_MEMBER["email"]
    created = members.register_confirmed(members.Registration(
        email=email, password=DEMO_MEMBER["password"], display_name=DEMO_MEMBER["display_name"],
        consents={OFFERS: True, PARTNER_PROMOTIONS: True}),
        Provenance("registration", page="local seed"))
    if created:
        progress(f"created demo member {email} (password: {DEMO_MEMBER['password']})")
    return email


# Fixed ids make seeding idempotent: an ad that is already there is left as it is.
DEMO_ADS = (
    dict(ad_id="ad-demo-printer", slot="home", title="Office printers that just work",
         body="Laser printers for teams of 2 to 20, with toner delivered before you run out.",
         target_url="https://printers.example.com/small-office", weight=3, frequency_cap=5),
    dict(ad_id="ad-demo-accounting", slot="home", title="Bookkeeping in ten minutes a week",
         body="Invoices, receipts and VAT returns for small offices.",
         target_url="https://ledger.example.com/", weight=2, frequency_cap=5),
    dict(ad_id="ad-demo-chairs", slot="home", title="Chairs your back will thank you for",
         body="Ergonomic office chairs, 30 nights' trial.",
         target_url="https://seating.example.com/office", weight=1, frequency_cap=3),
)


# Topics of partner promotions (ids are slugs of the names: office-supplies, software, ...).
DEMO_TOPICS = ("Office supplies", "Software", "Finance", "Events")


def seed(progress=lambda message: None) -> dict:
    """Load each capability's demo data; returns what is there, by kind."""
    summary = {"demo_member": seed_member(progress), "ads": _seed_ads(progress),
               "topics": _seed_topics(progress)}
    _seed_partner(summary, progress)
    return summary


def _seed_topics(progress) -> int:
    known = {t.name for t in members.topics.list_topics()}
    for name in DEMO_TOPICS:
        if name not in known:
            try:
                members.topics.add_topic(name)
                progress(f"added demo topic {name}")
            except ConflictError:
                pass  # added meanwhile
    return len(DEMO_TOPICS)


def _seed_ads(progress) -> int:
    for spec in DEMO_ADS:
        try:
            ads.create_ad(**spec)
            progress(f"added demo ad {spec['ad_id']}")
        except ConflictError:
            pass
    return len(DEMO_ADS)


DEMO_PARTNER_ID = "ptn_demo"


def demo_partner_urls() -> tuple:
    """The demo partner's landing and privacy pages: served by the local stack itself, so that
    a referral can be followed in a browser."""
    site = f"{get_settings().base_url}/_local/demo-partner"
    return f"{site}/welcome?src=eso", f"{site}/privacy"


def _seed_partner(summary: dict, progress) -> None:
    """A demo marketing partner; its API key is printed only when it is created."""

    landing, privacy_page = demo_partner_urls()
    try:
        existing = partners.get(DEMO_PARTNER_ID)
        if existing.landing_url != landing:
            # Seeded when its pages lived elsewhere (or on another port): point it here.
            partners.edit(DEMO_PARTNER_ID, landing_url=landing, privacy_policy_url=privacy_page)
            progress(f"the demo partner's pages are now {landing}")
    except NotFoundError:
        progress("creating the demo partner")
        new = partners.create(
            "Demo Office Supplies", *demo_partner_urls(),
            contact_email="partners@demo-partner.example",
            description="Paper, toner and chairs: 10% off your first order.",
            partner_id=DEMO_PARTNER_ID)
        summary["demo_partner_api_key"] = new.api_key
    summary["partners"] = DEMO_PARTNER_ID
