"""The members-only catalogue of eSO's own special offers and services."""
from __future__ import annotations

ESO_OFFERS = (
    {"id": "eso-backup", "title": "Office backup, done for you",
     "body": "Encrypted nightly backups of up to five office computers, 30% off the first year.",
     "provider": "eSmallOffice"},
    {"id": "eso-domain", "title": "Your own domain and mailboxes",
     "body": "A domain with five mailboxes and spam filtering, free setup for members.",
     "provider": "eSmallOffice"},
    {"id": "eso-printing", "title": "Business cards and letterheads",
     "body": "Members' price list for printing, delivered in three working days.",
     "provider": "eSmallOffice"},
)


def list_offers() -> list:
    """Offers a signed-in member can see: eSO's own, then partners' (when there are any)."""
    return [dict(offer) for offer in ESO_OFFERS]
