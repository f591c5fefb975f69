"""Fixed names of the product contract (paths and JSON fields rely on them), in a module light
enough to import anywhere."""

# Consent purposes, and the sources of consent events.
OFFERS = "offers"
PARTNER_PROMOTIONS = "partner_promotions"
PURPOSES = (OFFERS, PARTNER_PROMOTIONS)
SOURCES = ("registration", "preference_center", "unsubscribe_link", "bounce", "complaint",
           "account_deleted", "gpc", "email_change", "policy_update", "snooze_link",
           "support_suppression", "support_erasure")
# The member's promotion preferences, recorded in the same history as the consents: a topic of
# partner promotions (``topic:<topic id>``), how often partner promotions may come, and a pause
# of every promotion.
TOPIC_PREFIX = "topic:"
FREQUENCY = "frequency"
SNOOZE = "snooze"
# At most one partner promotion per ...
FREQUENCIES = ("day", "week", "month")
# How long a pause of every promotion lasts (the names links, forms and the API use).
SNOOZE_PERIODS = ("two_weeks", "one_month", "three_months")
# A promotion's kind decides the consent it needs: a partner's, or eSO's own offer.
PARTNER, OFFER = "partner", "offer"
KIND_PURPOSE = {PARTNER: PARTNER_PROMOTIONS, OFFER: OFFERS}
# Topics of the contact form.
CONTACT_TOPICS = ("privacy", "security", "general")
CONTACT_MAX_MESSAGE = 5000
# The ad slot that always exists (the home page shows it); other slots are declared.
HOME_AD_SLOT = "home"
