"""The members-only catalogue of eSO's own special offers and services.

eSO's own offers are taken up by writing to eSO: each links to the contact form, which opens
with a question about that offer (``/contact?offer=<id>``)."""
from __future__ import annotations

from chalicelib.partners import registry

ESO_OFFERS = (
    {"id": "eso-backup", "url": "/contact?offer=eso-backup",
     "title": "Office backup, done for you",
     "body": "Encrypted nightly backups of up to five office computers, 30% off the first year.",
     "provider": "eSmallOffice"},
    {"id": "eso-domain", "url": "/contact?offer=eso-domain",
     "title": "Your own domain and mailboxes",
     "body": "A domain with five mailboxes and spam filtering, free setup for members.",
     "provider": "eSmallOffice"},
    {"id": "eso-printing", "url": "/contact?offer=eso-printing",
     "title": "Business cards and letterheads",
     "body": "Members' price list for printing, delivered in three working days.",
     "provider": "eSmallOffice"},
)


def eso_offer(offer_id: str) -> dict | None:
    """One of eSO's own offers by its id (None for any other id)."""
    return next((dict(offer) for offer in ESO_OFFERS if offer["id"] == offer_id), None)


def partner_offer(partner) -> dict:
    """A partner's offer as members see it: through our referral link, with its own policy."""
    return {"id": f"partner-{partner.partner_id}", "title": partner.name,
            "body": partner.description or f"Members' offers from {partner.name}.",
            "provider": partner.name, "partner_id": partner.partner_id,
            "privacy_policy_url": partner.privacy_policy_url,
            "url": f"/go/{partner.partner_id}",
            "contact_url": (f"/partners/{partner.partner_id}/contact"
                            if partner.contact_email else None)}


def list_offers() -> list:
    """Offers a signed-in member can see: eSO's own, then active partners' (one Query).

    A partner is shown only with its privacy-policy URL: members must be able to read it.
    """
    shown = [p for p in registry.list_active() if p.privacy_policy_url]
    return [dict(offer) for offer in ESO_OFFERS] + [partner_offer(p) for p in shown]
