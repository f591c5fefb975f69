"""Fixed names of the product contract (paths and JSON fields rely on them), in a module light
enough to import anywhere."""

# Consent purposes, and the sources of consent events.
OFFERS = "offers"
PARTNER_PROMOTIONS = "partner_promotions"
PURPOSES = (OFFERS, PARTNER_PROMOTIONS)
SOURCES = ("registration", "preference_center", "unsubscribe_link", "bounce", "complaint",
           "account_deleted", "gpc", "email_change", "policy_update", "support_suppression",
           "support_erasure")
# A promotion's kind decides the consent it needs: a partner's, or eSO's own offer.
PARTNER, OFFER = "partner", "offer"
KIND_PURPOSE = {PARTNER: PARTNER_PROMOTIONS, OFFER: OFFERS}
# Topics of the contact form.
CONTACT_TOPICS = ("privacy", "security", "general")
CONTACT_MAX_MESSAGE = 5000
# The ad slot that always exists (the home page shows it); other slots are declared.
HOME_AD_SLOT = "home"
