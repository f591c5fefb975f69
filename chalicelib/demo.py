"""Demo data for the local stack, loaded by ``local seed``. Idempotent."""
from __future__ import annotations

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
    summary: dict = {}
    summary["ads"] = _seed_ads(progress)
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
