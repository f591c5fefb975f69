"""Fixed names of the product contract (SPEC §4), in a module light enough to import anywhere."""

# Consent purposes and the sources of consent events.
PURPOSES = ("offers", "partner_promotions")
SOURCES = ("registration", "preference_center", "unsubscribe_link", "bounce", "complaint",
           "account_deleted")
# Topics of the contact form.
CONTACT_TOPICS = ("privacy", "security", "general")
CONTACT_MAX_MESSAGE = 5000
