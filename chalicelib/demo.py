"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations

DEMO_MEMBER = {"email": "demo@esmalloffice.example", "password": "demo password 2026",
               "display_name": "Demo Member"}


def seed_member(progress) -> str:
    """A verified demo member (local stack only); returns its e-mail address."""
    from datetime import datetime, timezone

    from chalicelib import consent, members
    from chalicelib.consent import Provenance
    from chalicelib.models import EmailClaim, Member

    email = DEMO_MEMBER["email"]
    try:
        EmailClaim.get(email)
        return email
    except EmailClaim.DoesNotExist:
        pass
    progress(f"creating demo member {email} (password: {DEMO_MEMBER['password']})")
    members.register(members.Registration(
        email=email, password=DEMO_MEMBER["password"], display_name=DEMO_MEMBER["display_name"],
        consents={"offers": True, "partner_promotions": True}),
        Provenance("registration", page="local seed"))
    member = Member.get(EmailClaim.get(email).member_id, consistent_read=True)
    member.update(actions=[
        Member.email_verified.set(True), Member.verified_at.set(datetime.now(timezone.utc)),
        *consent.audience_actions(member.member_id, member.consents, True, False)])
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


def seed(progress=lambda message: None) -> dict:
    """Load each capability's demo data; returns what is there, by kind."""
    summary = {"demo_member": seed_member(progress), "ads": _seed_ads(progress)}
    _seed_partner(summary, progress)
    return summary


def _seed_ads(progress) -> int:
    from chalicelib import ads
    from chalicelib.errors import ConflictError

    for spec in DEMO_ADS:
        try:
            ads.create_ad(**spec)
            progress(f"added demo ad {spec['ad_id']}")
        except ConflictError:
            pass
    return len(DEMO_ADS)




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
